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
#include "time-util.h"

static int print_value(sd_bus_message *m);

/* a struct, array, variant or dict entry: its values, separated by commas */
static int print_container(sd_bus_message *m, char type, const char *contents) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        fputs(type == SD_BUS_TYPE_ARRAY ? "[" : type == SD_BUS_TYPE_VARIANT ? "" : "(", stdout);
        while ((r = sd_bus_message_at_end(m, false)) == 0) {
                if (!first)
                        putchar(',');
                first = false;
                r = print_value(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        fputs(type == SD_BUS_TYPE_ARRAY ? "]" : type == SD_BUS_TYPE_VARIANT ? "" : ")", stdout);
        return sd_bus_message_exit_container(m);
}

static int print_signed(sd_bus_message *m, char type) {
        union {
                int16_t n;
                int32_t i;
                int64_t x;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        printf("%" PRIi64, type == SD_BUS_TYPE_INT16 ? v.n : type == SD_BUS_TYPE_INT32 ? v.i : v.x);
        return 0;
}

static int print_unsigned(sd_bus_message *m, char type) {
        union {
                uint8_t y;
                uint16_t q;
                uint32_t u;
                uint64_t t;
        } v;
        int r;

        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        printf("%" PRIu64, type == SD_BUS_TYPE_BYTE     ? v.y
                           : type == SD_BUS_TYPE_UINT16 ? v.q
                           : type == SD_BUS_TYPE_UINT32 ? v.u
                                                        : v.t);
        return 0;
}

static int print_string(sd_bus_message *m, char type) {
        const char *s;
        int r;

        r = sd_bus_message_read_basic(m, type, &s);
        if (r < 0)
                return r;
        print_escaped_value(stdout, s);
        return 0;
}

static int print_bool(sd_bus_message *m) {
        int b, r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_BOOLEAN, &b);
        if (r < 0)
                return r;
        fputs(b ? "yes" : "no", stdout);
        return 0;
}

static int print_double(sd_bus_message *m) {
        double d;
        int r;

        r = sd_bus_message_read_basic(m, SD_BUS_TYPE_DOUBLE, &d);
        if (r < 0)
                return r;
        printf("%g", d);
        return 0;
}

/* the value the message is at: basic types, structs, arrays and variants of them */
static int print_value(sd_bus_message *m) {
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
                return print_container(m, type, contents);
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE:
                return print_string(m, type);
        case SD_BUS_TYPE_BOOLEAN:
                return print_bool(m);
        case SD_BUS_TYPE_DOUBLE:
                return print_double(m);
        case SD_BUS_TYPE_INT16:
        case SD_BUS_TYPE_INT32:
        case SD_BUS_TYPE_INT64:
                return print_signed(m, type);
        case SD_BUS_TYPE_BYTE:
        case SD_BUS_TYPE_UINT16:
        case SD_BUS_TYPE_UINT32:
        case SD_BUS_TYPE_UINT64:
                return print_unsigned(m, type);
        default: {
                char sig[2] = { type, 0 };

                printf("<%s>", sig);
                return sd_bus_message_skip(m, sig);
        }
        }
}

/* " attempt=ID KEY=VALUE" of a signal whose arguments are (t attempt_id, s VALUE) */
static int print_attempt_string(sd_bus_message *m, const char *key) {
        const char *value;
        uint64_t id;
        int r;

        r = sd_bus_message_read(m, "ts", &id, &value);
        if (r < 0)
                return r;
        printf(" attempt=%" PRIu64 " %s=", id, key);
        print_escaped_value(stdout, value);
        return 0;
}

static int print_state_changed(sd_bus_message *m) {
        return print_attempt_string(m, "state");
}

static int print_finished(sd_bus_message *m) {
        const char *error_name, *message, *device_id;
        uint64_t id;
        int success, r;

        r = sd_bus_message_read(m, "tbsss", &id, &success, &error_name, &message, &device_id);
        if (r < 0)
                return r;
        printf(" attempt=%" PRIu64 " success=%s error=", id, success ? "yes" : "no");
        print_escaped_value(stdout, error_name);
        fputs(" message=", stdout);
        print_escaped_value(stdout, message);
        fputs(" device_id=", stdout);
        print_escaped_value(stdout, device_id);
        return 0;
}

static int print_confirmed(sd_bus_message *m) {
        return print_attempt_string(m, "device_id");
}

/* " Name=value" for each changed property, " Name=<invalidated>" for each invalidated one */
static int print_properties_changed(sd_bus_message *m) {
        const char *interface, *name;
        int r;

        r = sd_bus_message_read(m, "s", &interface);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        break;
                printf(" %s=", name);
                r = print_value(m);
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_exit_container(m);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        while (r >= 0 && (r = sd_bus_message_read(m, "s", &name)) > 0)
                printf(" %s=<invalidated>", name);
        return r;
}

static int print_owner_changed(sd_bus_message *m) {
        const char *name, *old_owner, *new_owner;
        int r;

        r = sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner);
        if (r < 0)
                return r;
        printf(" name=%s owner=%s", name, *new_owner ? new_owner : "\"\"");
        return 0;
}

static const struct {
        const char *member;
        int (*print)(sd_bus_message *m);
} printers[] = {
        { "StateChanged", print_state_changed },
        { "Finished", print_finished },
        { "Confirmed", print_confirmed },
        { "PropertiesChanged", print_properties_changed },
        { "NameOwnerChanged", print_owner_changed },
};

static int on_monitor_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const char *member = sd_bus_message_get_member(m);
        char ts[RECORD_TIMESTAMP_MAX];
        int r = 0;

        if (!member)
                return 0;
        printf("%s %s", record_format_timestamp(ts, now_usec(CLOCK_REALTIME)), member);
        for (size_t i = 0; i < ELEMENTSOF(printers); i++)
                if (streq(member, printers[i].member)) {
                        r = printers[i].print(m);
                        break;
                }
        if (r < 0)
                printf(" <unexpected contents: %s>", strerror(-r));
        putchar('\n');
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
                                 "Usage: blinkupctl monitor\n\n"
                                 "Print blinkupd's signals as they arrive, one line each, until interrupted:\n"
                                 "StateChanged, Finished, Confirmed, PropertiesChanged and NameOwnerChanged\n"
                                 "(blinkupd starting or stopping).\n",
                                 argc, argv, NULL);
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
