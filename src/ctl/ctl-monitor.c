/* SPDX-License-Identifier: MIT */
/* blinkupctl monitor: blinkupd's signals as they arrive, one timestamped line each, until
 * interrupted. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "ctl-bus.h"
#include "ctl-common.h"
#include "macro.h"
#include "record.h"
#include "string-util.h"
#include "time-util.h"

static JsonMode arg_json = JSON_OFF;

/* Each printer writes the value the message is at: as text (j NULL) or as JSON. */
static int print_value(sd_bus_message *m, JsonOut *j);

/* a struct, array, variant or dict entry: its values, separated by commas; in JSON an array,
 * or for a variant its one value */
static int print_container(sd_bus_message *m, char type, const char *contents, JsonOut *j) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (j && type != SD_BUS_TYPE_VARIANT)
                json_begin_array(j);
        else if (!j)
                fputs(type == SD_BUS_TYPE_ARRAY ? "[" : type == SD_BUS_TYPE_VARIANT ? "" : "(", stdout);
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                if (!first && !j)
                        putchar(',');
                first = false;
                r = print_value(m, j);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        if (j && type != SD_BUS_TYPE_VARIANT)
                json_end_array(j);
        else if (!j)
                fputs(type == SD_BUS_TYPE_ARRAY ? "]" : type == SD_BUS_TYPE_VARIANT ? "" : ")", stdout);
        return sd_bus_message_exit_container(m);
}

static int print_signed(sd_bus_message *m, char type, JsonOut *j) {
        union {
                int16_t n;
                int32_t i;
                int64_t x;
        } v;
        int64_t value;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        value = type == SD_BUS_TYPE_INT16 ? v.n : type == SD_BUS_TYPE_INT32 ? v.i : v.x;
        if (j)
                json_signed(j, value);
        else
                printf("%" PRIi64, value);
        return 0;
}

static int print_unsigned(sd_bus_message *m, char type, JsonOut *j) {
        union {
                uint8_t y;
                uint16_t q;
                uint32_t u;
                uint64_t t;
        } v;
        uint64_t value;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        value = type == SD_BUS_TYPE_BYTE     ? v.y
                : type == SD_BUS_TYPE_UINT16 ? v.q
                : type == SD_BUS_TYPE_UINT32 ? v.u
                                             : v.t;
        if (j)
                json_unsigned(j, value);
        else
                printf("%" PRIu64, value);
        return 0;
}

static int print_string(sd_bus_message *m, char type, JsonOut *j) {
        const char *s;
        int r;

        r = sd_bus_message_read_basic(m, type, &s);
        if (r < 0)
                return r;
        if (j)
                json_string(j, s);
        else
                print_escaped_value(stdout, s);
        return 0;
}

static int print_bool(sd_bus_message *m, JsonOut *j) {
        int b, r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_BOOLEAN, &b);
        if (r < 0)
                return r;
        if (j)
                json_bool(j, b);
        else
                fputs(b ? "yes" : "no", stdout);
        return 0;
}

static int print_double(sd_bus_message *m, JsonOut *j) {
        double d;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_DOUBLE, &d);
        if (r < 0)
                return r;
        if (j)
                json_double(j, d);
        else
                printf("%g", d);
        return 0;
}

/* the value the message is at: basic types, structs, arrays and variants of them */
static int print_value(sd_bus_message *m, JsonOut *j) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;

        switch (type) {
        case SD_BUS_TYPE_STRUCT:
        case SD_BUS_TYPE_ARRAY:
        case SD_BUS_TYPE_VARIANT:
        case SD_BUS_TYPE_DICT_ENTRY:
                return print_container(m, type, contents, j);
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                return print_string(m, type, j);
        case SD_BUS_TYPE_BOOLEAN:
                return print_bool(m, j);
        case SD_BUS_TYPE_DOUBLE:
                return print_double(m, j);
        case SD_BUS_TYPE_INT16:
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_INT64:
                return print_signed(m, type, j);
        case SD_BUS_TYPE_BYTE:
        case SD_BUS_TYPE_UINT16:
        case SD_BUS_TYPE_UINT32:
        case SD_BUS_TYPE_UINT64:
                return print_unsigned(m, type, j);
        default: {
                char sig[2] = { type, 0 };

                if (j)
                        json_null(j);
                else
                        printf("<%s>", sig);
                return sd_bus_message_skip(m, sig);
        }
        }
}

/* " attempt=ID KEY=VALUE" of a signal whose arguments are (t attempt_id, s VALUE) */
static int print_attempt_string(sd_bus_message *m, const char *key, JsonOut *j) {
        const char *value;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "ts", &id, &value);
        if (r < 0)
                return r;
        if (j) {
                json_field_unsigned(j, "attempt_id", id);
                json_field_string(j, key, value);
                return 0;
        }
        printf(" attempt=%" PRIu64 " %s=", id, key);
        print_escaped_value(stdout, value);
        return 0;
}

static int print_state_changed(sd_bus_message *m, JsonOut *j) {
        return print_attempt_string(m, "state", j);
}

static int print_finished(sd_bus_message *m, JsonOut *j) {
        const char *error_name, *message, *device_id;
        uint64_t id;
        int success, r;

        r = sd_bus_message_read(m, "tbsss", &id, &success, &error_name, &message, &device_id);
        if (r < 0)
                return r;
        if (j) {
                json_field_unsigned(j, "attempt_id", id);
                json_field_bool(j, "success", success);
                json_field_string(j, "error_name", error_name);
                json_field_string(j, "message", message);
                json_field_string(j, "device_id", device_id);
                return 0;
        }
        printf(" attempt=%" PRIu64 " success=%s error=", id, success ? "yes" : "no");
        print_escaped_value(stdout, error_name);
        fputs(" message=", stdout);
        print_escaped_value(stdout, message);
        fputs(" device_id=", stdout);
        print_escaped_value(stdout, device_id);
        return 0;
}

static int print_confirmed(sd_bus_message *m, JsonOut *j) {
        return print_attempt_string(m, "device_id", j);
}

/* A property's name as blinkupctl status --json has it: "LastAttemptId" is "last_attempt_id",
 * "SSID" is "ssid". NULL when out of memory. */
static char *property_json_name(const char *name) {
        size_t n = strlen(name);
        char *key = malloc(2 * n + 1), *p = key;

        if (!key)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];

                if (c >= 'A' && c <= 'Z') {
                        bool after_lower = i > 0 && ((name[i - 1] >= 'a' && name[i - 1] <= 'z') ||
                                                     (name[i - 1] >= '0' && name[i - 1] <= '9'));
                        bool acronym_end = i > 0 && name[i - 1] >= 'A' && name[i - 1] <= 'Z' &&
                                           name[i + 1] >= 'a' && name[i + 1] <= 'z';

                        if (after_lower || acronym_end)
                                *p++ = '_';
                        c = (char) (c - 'A' + 'a');
                }
                *p++ = c;
        }
        *p = 0;
        return key;
}

/* A changed property, the variant the message is at: its value, or in JSON its key and value
 * (LastTiming as in status --json). */
static int print_property_value(sd_bus_message *m, const char *name, JsonOut *j) {
        _cleanup_(freep) char *key = NULL;
        uint64_t max, p99, edges;
        const char *contents;
        int r;

        if (!j)
                return print_value(m, NULL);
        key = property_json_name(name);
        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        if (!streq(name, "LastTiming") || !streq_ptr(contents, "(ttt)")) {
                json_key(j, key ?: name);
                return print_value(m, j);
        }
        r = sd_bus_message_read(m, "v", "(ttt)", &max, &p99, &edges);
        if (r < 0)
                return r;
        ctl_json_timing(j, key ?: name, max, p99, edges);
        return 0;
}

/* An invalidated property: " Name=<invalidated>", or in JSON its name in the array. */
static void print_property_invalidated(const char *name, JsonOut *j) {
        _cleanup_(freep) char *key = NULL;

        if (!j) {
                printf(" %s=<invalidated>", name);
                return;
        }
        key = property_json_name(name);
        json_string(j, key ?: name);
}

/* " Name=value" for each changed property, " Name=<invalidated>" for each invalidated one; in
 * JSON "changed": {"name": value, ...}, "invalidated": ["name", ...] */
static int print_properties_changed(sd_bus_message *m, JsonOut *j) {
        const char *interface, *name;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (j) {
                json_key(j, "changed");
                json_begin_object(j);
        }
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                if (!j)
                        printf(" %s=", name);
                r = print_property_value(m, name, j);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        if (j) {
                json_end_object(j);
                json_key(j, "invalidated");
                json_begin_array(j);
        }
        while (r >= 0 && (r = sd_bus_message_read(m, "s", &name)) > 0)
                print_property_invalidated(name, j);
        if (j)
                json_end_array(j);
        return r;
}

/* " name=NAME owner=OWNER"; in JSON the owner is null when blinkupd left the bus */
static int print_owner_changed(sd_bus_message *m, JsonOut *j) {
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0)
                return r;
        if (j) {
                json_field_string(j, "name", name);
                json_field_string(j, "owner", empty_to_null(new_owner));
                return 0;
        }
        printf(" name=%s owner=%s", name, *new_owner ? new_owner : "\"\"");
        return 0;
}

static const struct {
        const char *member;
        int (*print)(sd_bus_message *m, JsonOut *j);
} printers[] = {
        { "StateChanged", print_state_changed },
        { "Finished", print_finished },
        { "Confirmed", print_confirmed },
        { "PropertiesChanged", print_properties_changed },
        { "NameOwnerChanged", print_owner_changed },
};

static int print_signal(sd_bus_message *m, const char *member, JsonOut *j) {
        for (size_t i = 0; i < ELEMENTSOF(printers); i++)
                if (streq(member, printers[i].member))
                        return printers[i].print(m, j);
        return 0;
}

/* {"timestamp": ..., "timestamp_usec": ..., "signal": MEMBER, */
static void json_event_begin(JsonOut *j, uint64_t usec, const char *member) {
        char ts[RECORD_TIMESTAMP_MAX];

        json_begin_object(j);
        json_field_string(j, "timestamp", record_format_timestamp(ts, usec));
        json_field_unsigned(j, "timestamp_usec", usec);
        json_field_string(j, "signal", member);
}

/* The signal as one JSON object, written whole: when its contents are not what the interface
 * says, an object with "error" in place of its arguments. */
static void print_signal_json(sd_bus_message *m, const char *member, uint64_t usec) {
        _cleanup_(freep) char *buf = NULL;
        char error[128];
        size_t size = 0;
        FILE *f;
        JsonOut j;
        int r;

        f = open_memstream(&buf, &size);
        if (f) {
                json_out_init(&j, f, arg_json);
                json_event_begin(&j, usec, member);
                r = print_signal(m, member, &j);
                json_end_object(&j);
                if (r >= 0 && j.error < 0)
                        r = j.error;
                if (fclose(f) != 0 && r >= 0)
                        r = -ENOMEM;
        } else
                r = -ENOMEM;
        if (r >= 0) {
                fwrite(buf, 1, size, stdout);
                return;
        }
        (void) snprintf(error, sizeof(error), "unexpected contents: %s", strerror(-r));
        json_out_init(&j, stdout, arg_json);
        json_event_begin(&j, usec, member);
        json_field_string(&j, "error", error);
        json_end_object(&j);
}

static int on_monitor_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *member = sd_bus_message_get_member(m);
        uint64_t usec = now_usec(CLOCK_REALTIME);
        char ts[RECORD_TIMESTAMP_MAX];
        int r;

        if (!member)
                return 0;
        if (arg_json != JSON_OFF)
                print_signal_json(m, member, usec);
        else {
                printf("%s %s", record_format_timestamp(ts, usec), member);
                r = print_signal(m, member, NULL);
                if (r < 0)
                        printf(" <unexpected contents: %s>", strerror(-r));
                putchar('\n');
        }
        fflush(stdout);
        return 0;
}

/* SIGINT and SIGTERM end the loop, and the program, normally: 0, or -errno after saying why not. */
static int block_signals(void) {
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                int r = -errno;

                fprintf(stderr, "blinkupctl: cannot block signals: %s\n", strerror(-r));
                return r;
        }
        return 0;
}

/* An event loop that SIGINT and SIGTERM end with 0. */
static int monitor_event_new(sd_event **ret) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, NULL, NULL);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(event);
        return 0;
}

/* Every signal of blinkupd's interface, its PropertiesChanged and its name's owner changes,
 * floating on the bus, which is attached to event. */
static int monitor_subscribe(sd_bus *bus, sd_event *event) {
        static const char *const members[] = { "StateChanged", "Finished", "Confirmed" };
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(members); i++)
                r = sd_bus_match_signal(bus, NULL, FIXTURE_BUS_NAME, FIXTURE_OBJECT_PATH, FIXTURE_INTERFACE,
                                        members[i], on_monitor_signal, NULL);
        if (r >= 0)
                r = sd_bus_add_match(
                        bus, NULL,
                        "type='signal',sender='" FIXTURE_BUS_NAME "',path='" FIXTURE_OBJECT_PATH "',"
                        "interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',"
                        "arg0='" FIXTURE_INTERFACE "'",
                        on_monitor_signal, NULL);
        if (r >= 0)
                r = ctl_bus_match_owner_changed(bus, NULL, on_monitor_signal, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, event, SD_EVENT_PRIORITY_NORMAL);
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        return r;
}

int ctl_monitor(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        int r;

        r = ctl_parse_plain_verb("monitor",
                                 "Usage: blinkupctl monitor [--json[=MODE]]\n\n"
                                 "Print blinkupd's signals as they arrive, one line each, until interrupted:\n"
                                 "StateChanged, Finished, Confirmed, PropertiesChanged and NameOwnerChanged\n"
                                 "(blinkupd starting or stopping).\n\n"
                                 CTL_JSON_HELP,
                                 argc, argv, &arg_json);
        if (r <= 0)
                return ctl_parse_exit_status(r);

        if (block_signals() < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_bus_open(&bus) < 0)
                return CTL_EXIT_FAILURE;
        r = monitor_event_new(&event);
        if (r >= 0)
                r = monitor_subscribe(bus, event);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: cannot subscribe to blinkupd's signals: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }

        fprintf(stderr, "Monitoring %s on the %s; press Ctrl-C to stop.\n", FIXTURE_BUS_NAME, ctl_bus_name());
        /* 0 from the signals; sd-bus ends the loop with EXIT_FAILURE when the bus goes away */
        r = sd_event_loop(event);
        fflush(stdout);
        if (r < 0) {
                fprintf(stderr, "blinkupctl: monitor: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (r != 0) {
                fprintf(stderr, "blinkupctl: lost the connection to the %s\n", ctl_bus_name());
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}
