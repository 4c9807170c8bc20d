/* SPDX-License-Identifier: MIT */
/* The barcode scanner ([Scanner] Device=): an input device (a keyboard to Linux) grabbed so that
 * its keystrokes go nowhere else, read on the loop through libevdev; a scanned line that is a
 * good serial number becomes the pending serial of the next attempt (PendingSerial). The
 * scanner is an aid: a device that cannot be opened, or goes away, is logged and the fixture
 * serves without it until the next reload. */
#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "macro.h"
#include "manager-internal.h"
#include "string-util.h"

void manager_set_pending_serial(Manager *m, const char *serial) {
        if (streq(m->pending_serial, strempty(serial)))
                return;
        (void) snprintf(m->pending_serial, sizeof(m->pending_serial), "%s", strempty(serial));
        (void) bus_fixture_emit_properties_changed(m->bus, "PendingSerial", NULL);
}

void manager_scanner_close(Manager *m) {
        m->scanner_source = sd_event_source_disable_unref(m->scanner_source);
        if (m->scanner_dev)
                libevdev_free(m->scanner_dev); /* the grab ends with the descriptor */
        m->scanner_dev = NULL;
        m->scanner_fd = safe_close(m->scanner_fd);
        m->scanner_path = mfree(m->scanner_path);
}

static void scanner_key(Manager *m, unsigned code, int value) {
        const char *text = NULL;
        ErrorText e = {};
        int r;

        r = scanner_line_feed(&m->scanner_line, code, value, &text, &e);
        if (r == 0)
                return;
        if (r < 0) {
                log_warning("Barcode scanner %s: line refused: %s.", m->scanner_path, e.message);
                return;
        }
        r = identity_check(IDENTITY_KEY_SERIAL, text, &e);
        if (r < 0) {
                log_warning("Barcode scanner %s: \"%s\" refused: %s.", m->scanner_path, text, e.message);
                return;
        }
        if (m->pending_serial[0] && !streq(m->pending_serial, text))
                log_info("Barcode scanner: serial number %s for the next attempt, replacing %s.", text,
                         m->pending_serial);
        else
                log_info("Barcode scanner: serial number %s for the next attempt.", text);
        manager_set_pending_serial(m, text);
}

/* SYN_DROPPED: the kernel's buffer overflowed. libevdev's view of the device is brought up to
 * date (the events it makes up for that are not keystrokes); the line typed so far is lost. */
static int scanner_resync(Manager *m) {
        struct input_event ev;
        int r;

        log_warning("Barcode scanner %s: events were lost; the line being read is dropped.", m->scanner_path);
        scanner_line_reset(&m->scanner_line);
        do
                r = libevdev_next_event(m->scanner_dev, LIBEVDEV_READ_FLAG_SYNC, &ev);
        while (r == LIBEVDEV_READ_STATUS_SYNC);
        return r == -EAGAIN ? 0 : r;
}

static int on_scanner(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        struct input_event ev;
        int r = 0;

        /* until -EAGAIN: libevdev queues what one read(2) brings, and an event left in its queue
         * would wake nobody */
        while (r >= 0) {
                r = libevdev_next_event(m->scanner_dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
                if (r == LIBEVDEV_READ_STATUS_SUCCESS && ev.type == EV_KEY)
                        scanner_key(m, ev.code, ev.value);
                else if (r == LIBEVDEV_READ_STATUS_SYNC)
                        r = scanner_resync(m);
        }
        if (r >= 0 || r == -EAGAIN || r == -EINTR)
                return 0;
        if (r == -ENODEV)
                log_warning("Barcode scanner %s is gone (unplugged?): closed; a reload opens it again.",
                            m->scanner_path);
        else
                log_warning_errno(r, "Reading the barcode scanner %s failed, closed; a reload opens it again: %m",
                                  m->scanner_path);
        manager_scanner_close(m);
        return 0;
}

/* A warning naming the path and the reason; the daemon goes on without the scanner: 0. */
static int scanner_unusable(const char *path, int error, const char *what) {
        log_warning_errno(error, "Barcode scanner %s %s (%m); the fixture serves without it.", path, what);
        return 0;
}

int manager_scanner_open(Manager *m, const Config *c) {
        _cleanup_(closep) int fd = -1;
        struct libevdev *dev = NULL;
        const char *path = c->scanner.device;
        int r;

        if (!path)
                return 0;
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return scanner_unusable(path, errno, "cannot be opened");
        r = libevdev_new_from_fd(fd, &dev);
        if (r < 0)
                return scanner_unusable(path, r, "is not an input device");
        if (!libevdev_has_event_type(dev, EV_KEY)) {
                libevdev_free(dev);
                return scanner_unusable(path, ENOTTY, "has no keys");
        }
        r = libevdev_grab(dev, LIBEVDEV_GRAB);
        if (r < 0) {
                libevdev_free(dev);
                return scanner_unusable(path, r, r == -EBUSY ? "is grabbed by another program" : "cannot be grabbed");
        }
        m->scanner_path = strdup(path);
        r = m->scanner_path ? sd_event_add_io(m->event, &m->scanner_source, fd, EPOLLIN, on_scanner, m) : -ENOMEM;
        if (r < 0) {
                libevdev_free(dev);
                m->scanner_path = mfree(m->scanner_path);
                return scanner_unusable(path, r, "cannot be watched");
        }
        m->scanner_dev = dev;
        m->scanner_fd = TAKE_FD(fd);
        scanner_line_init(&m->scanner_line);
        log_info("Barcode scanner: %s (%s), grabbed.", path, libevdev_get_name(dev) ?: "no name");
        return 0;
}
