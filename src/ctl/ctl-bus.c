/* SPDX-License-Identifier: MIT */
/* blinkupctl: the connection to blinkupd's bus, method calls and what their failures mean. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-bus.h"
#include "ctl-common.h"
#include "macro.h"

#define DBUS_NAME "org.freedesktop.DBus"
#define DBUS_PATH "/org/freedesktop/DBus"

int ctl_bus_open(sd_bus **ret) {
        int r;

        r = ctl_user_bus() ? sd_bus_open_user(ret) : sd_bus_open_system(ret);
        if (r < 0)
                fprintf(stderr, "blinkupctl: cannot connect to the %s: %s; is blinkupd running?\n",
                        ctl_bus_name(), strerror(-r));
        return r;
}

static int method_failed(const char *member, const sd_bus_error *error, int r) {
        if (sd_bus_error_has_name(error, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
            sd_bus_error_has_name(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr,
                        "blinkupctl: %s failed: blinkupd is not running (nobody owns %s on the %s)\n",
                        member, FIXTURE_BUS_NAME, ctl_bus_name());
        else if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                fprintf(stderr,
                        "blinkupctl: %s failed: %s: %s (only root and the blinkup group may do this)\n",
                        member, error->name, error->message ?: "access denied");
        else if (sd_bus_error_is_set(error))
                fprintf(stderr, "blinkupctl: %s failed: %s: %s\n", member, error->name,
                        error->message ?: "");
        else
                fprintf(stderr, "blinkupctl: %s failed: %s\n", member, strerror(-r));
        return r;
}

int ctl_bus_call(sd_bus *bus, const char *interface, const char *member, sd_bus_message **ret_reply,
                 const char *types, ...) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = sd_bus_call_methodv(bus, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, interface, member, &error,
                                ret_reply, types, ap);
        va_end(ap);
        if (r < 0)
                return method_failed(member, &error, r);
        return r;
}

int ctl_bus_parse_error(int r) {
        fprintf(stderr, "blinkupctl: unexpected message from blinkupd: %s\n", strerror(-r));
        return r;
}

int ctl_bus_match_owner_changed(sd_bus *bus, sd_bus_slot **ret_slot, sd_bus_message_handler_t callback,
                                void *userdata) {
        return sd_bus_add_match(bus, ret_slot,
                                "type='signal',sender='" DBUS_NAME "',path='" DBUS_PATH "',"
                                "interface='" DBUS_NAME "',member='NameOwnerChanged',"
                                "arg0='" FIXTURE_BUS_NAME "'",
                                callback, userdata);
}
