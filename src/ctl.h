/* SPDX-License-Identifier: MIT */
#pragma once

/* blinkupctl verbs. Each returns an exit status. */

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

int ctl_encode(int argc, char *argv[]);
