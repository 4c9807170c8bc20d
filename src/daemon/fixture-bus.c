/* SPDX-License-Identifier: MIT */
/* The org.blinkupd.Fixture1 object: handlers validate, then call the manager. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "macro.h"
#include "manager.h"
#include "string-util.h"

/* The properties that are a field of ManagerInfo as it is: its D-Bus type and where it is. */
static const struct {
        const char *name;
        char type; /* 's' (NULL reads as ""), 'b', 'u' or 't' */
        size_t offset;
} info_properties[] = {
        { "FixtureId", 's', offsetof(ManagerInfo, fixture_id) },
        { "Fast", 'b', offsetof(ManagerInfo, fast) },
        { "ActiveHigh", 'b', offsetof(ManagerInfo, active_high) },
        { "SSID", 's', offsetof(ManagerInfo, ssid) },
        { "Attempts", 't', offsetof(ManagerInfo, attempts) },
        { "Successes", 't', offsetof(ManagerInfo, successes) },
        { "Failures", 't', offsetof(ManagerInfo, failures) },
        { "LastAttemptId", 't', offsetof(ManagerInfo, last_attempt_id) },
        { "LastError", 's', offsetof(ManagerInfo, last_error) },
        { "LastDeviceId", 's', offsetof(ManagerInfo, last_device_id) },
        { "LastSerial", 's', offsetof(ManagerInfo, last_serial) },
        { "LastOperator", 's', offsetof(ManagerInfo, last_operator) },
        { "PendingSerial", 's', offsetof(ManagerInfo, pending_serial) },
        { "ResultsURL", 's', offsetof(ManagerInfo, results_url) },
        { "ResultsBacklog", 'u', offsetof(ManagerInfo, results_backlog) },
        { "ResultsParked", 'u', offsetof(ManagerInfo, results_parked) },
        { "ResultsLastDelivery", 't', offsetof(ManagerInfo, results_last_delivery_usec) },
        { "ResultsLastErrorTime", 't', offsetof(ManagerInfo, results_last_error_usec) },
        { "ResultsLastError", 's', offsetof(ManagerInfo, results_last_error) },
};

static int append_info_field(sd_bus_message *reply, const ManagerInfo *i, char type, size_t offset) {
        const void *field = (const uint8_t *) i + offset;

        switch (type) {
        case 's':
                return sd_bus_message_append(reply, "s", *(const char *const *) field ?: "");
        case 'b':
                return sd_bus_message_append(reply, "b", (int) *(const bool *) field);
        case 'u':
                return sd_bus_message_append(reply, "u", *(const uint32_t *) field);
        default:
                return sd_bus_message_append(reply, "t", *(const uint64_t *) field);
        }
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        ManagerInfo i;

        manager_get_info(m, &i);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", manager_state_to_string(i.state));
        if (streq(property, "FactoryStatus"))
                return sd_bus_message_append(reply, "s", factory_status_to_string(i.factory_status));
        if (streq(property, "LastTiming"))
                return sd_bus_message_append(reply, "(ttt)", i.last_max_lateness_ns,
                                             i.last_p99_lateness_ns, i.last_edges);
        for (size_t k = 0; k < ELEMENTSOF(info_properties); k++)
                if (streq(property, info_properties[k].name))
                        return append_info_field(reply, &i, info_properties[k].type, info_properties[k].offset);
        return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s", property);
}

static int method_start(sd_bus_message *msg, void *userdata, sd_bus_error *error, bool clear,
                        const AttemptIdentity *identity) {
        Manager *m = userdata;
        uint64_t id;
        int r;

        r = manager_blinkup(m, clear, identity, &id, error);
        if (r < 0)
                return r;
        return manager_reply_when_recorded(m, msg, id);
}

static int method_blinkup(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_start(msg, userdata, error, false, NULL);
}

/* One "{sv}" entry of BlinkUpWithOptions() into *identity; InvalidArgs naming the key for an
 * unknown key, a value that is not a string, a key given twice or a value against the rules. */
static int read_option(sd_bus_message *msg, AttemptIdentity *identity, sd_bus_error *error) {
        const char *key, *contents, *value, **slot;
        ErrorText e = {};
        int r;

        r = sd_bus_message_read(msg, "s", &key);
        if (r < 0)
                return r;
        if (!identity_key_is_known(key))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown option \"%s\": the options are \"%s\" and \"%s\".", key,
                                         IDENTITY_KEY_SERIAL, IDENTITY_KEY_OPERATOR);
        slot = streq(key, IDENTITY_KEY_SERIAL) ? &identity->serial : &identity->operator;
        if (*slot)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option \"%s\" is given twice.", key);
        r = sd_bus_message_peek_type(msg, NULL, &contents);
        if (r < 0)
                return r;
        if (!streq_ptr(contents, "s"))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Option \"%s\" is a string (s), not a value of type %s.", key,
                                         contents ?: "?");
        r = sd_bus_message_read(msg, "v", "s", &value);
        if (r < 0)
                return r;
        r = identity_check(key, value, &e);
        if (r < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option %s.", e.message);
        *slot = value;
        return 0;
}

/* BlinkUpWithOptions(a{sv}): BlinkUp() with the unit's serial number and the operator. The
 * strings point into msg, which outlives the call to the manager. */
static int method_blinkup_with_options(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        AttemptIdentity identity = {};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                r = read_option(msg, &identity, error);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        return method_start(msg, userdata, error, false, &identity);
}

static int method_clear(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return method_start(msg, userdata, error, true, NULL);
}

static int method_cancel(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        (void) manager_cancel(userdata);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(freep) char *message = NULL;
        int r;

        r = manager_reload(userdata, &message);
        if (r == -EBUSY)
                return sd_bus_error_setf(error, FIXTURE_ERROR_BUSY, "%s", message ?: "An attempt is in progress.");
        if (r < 0)
                return sd_bus_error_setf(error, FIXTURE_ERROR_INVALID_CONFIG, "%s",
                                         message ?: "The configuration is invalid.");
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable fixture_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FixtureId", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FactoryStatus", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Fast", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ActiveHigh", "b", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SSID", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Attempts", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Successes", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Failures", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastAttemptId", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastError", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastDeviceId", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastSerial", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastOperator", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PendingSerial", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastTiming", "(ttt)", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsURL", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsBacklog", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsParked", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsLastDelivery", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsLastErrorTime", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ResultsLastError", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        /* Access is the bus policy's job (root and group blinkup), hence UNPRIVILEGED here. */
        SD_BUS_METHOD_WITH_ARGS("BlinkUp", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", attempt_id), method_blinkup,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BlinkUpWithOptions", SD_BUS_ARGS("a{sv}", options), SD_BUS_RESULT("t", attempt_id),
                                method_blinkup_with_options, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Clear", SD_BUS_NO_ARGS, SD_BUS_RESULT("t", attempt_id), method_clear,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Cancel", NULL, NULL, method_cancel, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("StateChanged", SD_BUS_ARGS("t", attempt_id, "s", state), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Finished",
                                SD_BUS_ARGS("t", attempt_id, "b", success, "s", error_name, "s", message,
                                            "s", device_id),
                                0),
        SD_BUS_SIGNAL_WITH_ARGS("Confirmed", SD_BUS_ARGS("t", attempt_id, "s", device_id), 0),
        SD_BUS_VTABLE_END
};

int bus_fixture_register(sd_bus *bus, Manager *m) {
        return sd_bus_add_object_vtable(bus, NULL, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, fixture_vtable, m);
}

int bus_fixture_emit_state_changed(sd_bus *bus, uint64_t attempt_id, const char *state) {
        if (!bus)
                return 0;
        return sd_bus_emit_signal(bus, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, "StateChanged", "ts", attempt_id,
                                  state);
}

int bus_fixture_emit_finished(sd_bus *bus, uint64_t attempt_id, bool success, const char *error_name,
                              const char *message, const char *device_id) {
        if (!bus)
                return 0;
        return sd_bus_emit_signal(bus, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, "Finished", "tbsss", attempt_id,
                                  success, error_name ?: "", message ?: "", device_id ?: "");
}

int bus_fixture_emit_confirmed(sd_bus *bus, uint64_t attempt_id, const char *device_id) {
        if (!bus)
                return 0;
        return sd_bus_emit_signal(bus, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, "Confirmed", "ts", attempt_id,
                                  device_id);
}

int bus_fixture_emit_properties_changed(sd_bus *bus, const char *first, ...) {
        char *names[16];
        size_t n = 0;
        va_list ap;

        if (!bus)
                return 0;
        va_start(ap, first);
        for (const char *p = first; p && n < ELEMENTSOF(names) - 1; p = va_arg(ap, const char *))
                names[n++] = (char *) p;
        va_end(ap);
        names[n] = NULL;
        return sd_bus_emit_properties_changed_strv(bus, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE, names);
}
