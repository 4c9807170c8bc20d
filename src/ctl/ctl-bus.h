/* SPDX-License-Identifier: MIT */
#pragma once

/* blinkupctl's side of the bus: the connection to blinkupd's bus, its method calls and what
 * their failures say. */

#include <systemd/sd-bus.h>

/* Connects to the system bus, or the session bus after ctl_set_user_bus(true). On failure says
 * so and returns -errno. */
int ctl_bus_open(sd_bus **ret);

/* Calls MEMBER of INTERFACE on blinkupd's object with the arguments TYPES, ...; on failure says
 * why (blinkupd not running, access denied, the error it returned) and returns -errno. */
int ctl_bus_call(sd_bus *bus, const char *interface, const char *member, sd_bus_message **ret_reply,
                 const char *types, ...);

/* A reply or signal that does not hold what the interface says: says so, returns r. */
int ctl_bus_parse_error(int r);

/* Calls callback when blinkupd's bus name changes owner (it starts or goes away). */
int ctl_bus_match_owner_changed(sd_bus *bus, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback,
                                void *userdata);
