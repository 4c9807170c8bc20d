/* SPDX-License-Identifier: MIT */
#pragma once

/* blinkupctl's verbs, one file each: status (ctl-status.c); blinkup, clear and cancel
 * (ctl-attempt.c); monitor (ctl-monitor.c), which talk to blinkupd over D-Bus; history
 * (ctl-history.c), which reads the attempt record directly; and encode (ctl-encode.c), which
 * works offline. Each returns an exit status. */

#include <stdbool.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE 2

void ctl_set_user_bus(bool user); /* the session bus instead of the system bus */

int ctl_status(int argc, char *argv[]);
int ctl_blinkup(int argc, char *argv[]);
int ctl_clear(int argc, char *argv[]);
int ctl_cancel(int argc, char *argv[]);
int ctl_monitor(int argc, char *argv[]);
int ctl_history(int argc, char *argv[]);
int ctl_encode(int argc, char *argv[]);
