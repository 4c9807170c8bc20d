/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

/* blinkupctl verbs. Each returns an exit status. */

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

int ctl_encode(int argc, char *argv[]);

/* The verbs that talk to blinkupd over D-Bus (ctl-bus.c), and "history", which reads the
 * attempt record directly. */
void ctl_set_user_bus(bool user); /* the session bus instead of the system bus */
int ctl_status(int argc, char *argv[]);
int ctl_blinkup(int argc, char *argv[]);
int ctl_clear(int argc, char *argv[]);
int ctl_cancel(int argc, char *argv[]);
int ctl_monitor(int argc, char *argv[]);
int ctl_history(int argc, char *argv[]);
