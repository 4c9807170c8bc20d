/* SPDX-License-Identifier: MIT */
/* slowfs: a FUSE 3 passthrough file system over a backing directory whose fsync(), fdatasync()
 * and directory fsync() each take an extra, fixed time, as on slow storage (an SD card: 25 to
 * 100 ms). Every other operation goes straight to the backing directory.
 *
 *   slowfs [--fsync-delay-ms=N] [--log=FILE] BACKING MOUNTPOINT [-o OPTIONS] [-s]
 *
 * It runs in the foreground (multi-threaded; -s: single-threaded) until unmounted
 * (fusermount3 -u MOUNTPOINT, umount MOUNTPOINT) or sent SIGTERM/SIGINT. Each fsync first does
 * the real fsync() of the backing file, then sleeps N ms, then replies.
 *
 * --log=FILE: each fsync appends one line, in one write():
 *     OP PATH SIZE_AT_START START_NS END_NS
 * OP is fsync, fdatasync or fsyncdir; PATH is the path under the mount point ("/dir/file");
 * SIZE_AT_START is the file's size (fstat of the backing file) when the request arrived (0 for
 * a directory); START_NS and END_NS are CLOCK_MONOTONIC nanoseconds when it arrived and just
 * before the reply.
 *
 * The kernel's FUSE client holds the file's inode lock for the whole fsync (fuse_fsync() in
 * fs/fuse/file.c): a write() to the same file from another thread waits until the fsync has
 * replied, which ext4 does not make it do. Reads, and writes to other files, are not held up.
 *
 * flock() and fcntl() locks are left to the kernel: they work between processes of this
 * machine on the mount, as a local file system's do. (libfuse 3.14's fuse_main() prints "Ignoring
 * invalid max threads value" at start: harmless, its own default.) The tests run it as root with
 * -o default_permissions,allow_other; files created as root through it belong to the caller. */

#define FUSE_USE_VERSION 35
#define _GNU_SOURCE 1

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <fuse_opt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct {
        char *backing;
        char *log_path;
        unsigned delay_ms;
        int backing_fd;
        int log_fd;
        pthread_mutex_t log_lock;
} fs = { .backing_fd = -1, .log_fd = -1, .log_lock = PTHREAD_MUTEX_INITIALIZER };

/* The path relative to the backing directory: "/" is ".", "/a/b" is "a/b". */
static const char *rel(const char *path) {
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

static int64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
                ;
}

static void log_sync(const char *op, const char *path, int64_t size, int64_t start, int64_t end) {
        char line[4200];
        int n;

        if (fs.log_fd < 0)
                return;
        n = snprintf(line, sizeof line, "%s %s %" PRId64 " %" PRId64 " %" PRId64 "\n", op, path, size, start, end);
        if (n <= 0 || (size_t) n >= sizeof line)
                return;
        pthread_mutex_lock(&fs.log_lock);
        if (write(fs.log_fd, line, (size_t) n) != n)
                fprintf(stderr, "slowfs: writing the log: %s\n", strerror(errno));
        pthread_mutex_unlock(&fs.log_lock);
}

/* A file or directory made through the mount belongs to the process that made it (the file
 * system itself runs as root). */
static void give_to_caller(const char *path) {
        struct fuse_context *c = fuse_get_context();

        if (geteuid() == 0 && c && (c->uid != 0 || c->gid != 0))
                (void) fchownat(fs.backing_fd, rel(path), c->uid, c->gid, AT_SYMLINK_NOFOLLOW);
}

static void *sfs_init(struct fuse_conn_info *conn, struct fuse_config *cfg) {
        /* no attribute or name caching: every stat sees the backing file as it is */
        cfg->use_ino = 1;
        cfg->entry_timeout = 0;
        cfg->attr_timeout = 0;
        cfg->negative_timeout = 0;
        cfg->nullpath_ok = 0;
        return NULL;
}

static int sfs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
        int r = fi ? fstat((int) fi->fh, st) : fstatat(fs.backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
        return r < 0 ? -errno : 0;
}

static int sfs_access(const char *path, int mask) {
        return faccessat(fs.backing_fd, rel(path), mask, 0) < 0 ? -errno : 0;
}

static int sfs_readlink(const char *path, char *buf, size_t size) {
        ssize_t n = readlinkat(fs.backing_fd, rel(path), buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        return 0;
}

static int sfs_mknod(const char *path, mode_t mode, dev_t rdev) {
        if (mknodat(fs.backing_fd, rel(path), mode, rdev) < 0)
                return -errno;
        give_to_caller(path);
        return 0;
}

static int sfs_mkdir(const char *path, mode_t mode) {
        if (mkdirat(fs.backing_fd, rel(path), mode) < 0)
                return -errno;
        give_to_caller(path);
        return 0;
}

static int sfs_unlink(const char *path) {
        return unlinkat(fs.backing_fd, rel(path), 0) < 0 ? -errno : 0;
}

static int sfs_rmdir(const char *path) {
        return unlinkat(fs.backing_fd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}

static int sfs_symlink(const char *target, const char *path) {
        if (symlinkat(target, fs.backing_fd, rel(path)) < 0)
                return -errno;
        give_to_caller(path);
        return 0;
}

static int sfs_rename(const char *from, const char *to, unsigned int flags) {
        return renameat2(fs.backing_fd, rel(from), fs.backing_fd, rel(to), flags) < 0 ? -errno : 0;
}

static int sfs_link(const char *from, const char *to) {
        return linkat(fs.backing_fd, rel(from), fs.backing_fd, rel(to), 0) < 0 ? -errno : 0;
}

static int sfs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) {
        int r = fi ? fchmod((int) fi->fh, mode) : fchmodat(fs.backing_fd, rel(path), mode, 0);
        return r < 0 ? -errno : 0;
}

static int sfs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) {
        int r = fi ? fchown((int) fi->fh, uid, gid) : fchownat(fs.backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
        return r < 0 ? -errno : 0;
}

static int sfs_truncate(const char *path, off_t size, struct fuse_file_info *fi) {
        int r, fd;

        if (fi)
                return ftruncate((int) fi->fh, size) < 0 ? -errno : 0;
        fd = openat(fs.backing_fd, rel(path), O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = ftruncate(fd, size) < 0 ? -errno : 0;
        close(fd);
        return r;
}

static int sfs_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi) {
        int r = fi ? futimens((int) fi->fh, ts) : utimensat(fs.backing_fd, rel(path), ts, AT_SYMLINK_NOFOLLOW);
        return r < 0 ? -errno : 0;
}

static int sfs_open(const char *path, struct fuse_file_info *fi) {
        int fd = openat(fs.backing_fd, rel(path), (fi->flags & ~O_NOFOLLOW) | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        fi->fh = (uint64_t) fd;
        return 0;
}

static int sfs_create(const char *path, mode_t mode, struct fuse_file_info *fi) {
        int fd = openat(fs.backing_fd, rel(path), fi->flags | O_CREAT | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        fi->fh = (uint64_t) fd;
        give_to_caller(path);
        return 0;
}

static int sfs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
        ssize_t n = pread((int) fi->fh, buf, size, off);
        return n < 0 ? -errno : (int) n;
}

/* On Linux a pwrite() to a file opened with O_APPEND (the flags of the caller's open) goes to
 * the end of the file whatever the offset. */
static int sfs_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
        ssize_t n = pwrite((int) fi->fh, buf, size, off);
        return n < 0 ? -errno : (int) n;
}

static int sfs_statfs(const char *path, struct statvfs *st) {
        return fstatvfs(fs.backing_fd, st) < 0 ? -errno : 0;
}

/* close() of a descriptor of the caller: what a close() of the backing file would report */
static int sfs_flush(const char *path, struct fuse_file_info *fi) {
        int fd = dup((int) fi->fh);
        if (fd < 0)
                return -errno;
        return close(fd) < 0 ? -errno : 0;
}

static int sfs_release(const char *path, struct fuse_file_info *fi) {
        close((int) fi->fh);
        return 0;
}

static int slow_sync(const char *op, const char *path, int fd, bool dir, bool datasync) {
        int64_t start = now_ns(), size = 0;
        struct stat st;
        int r;

        if (!dir && fstat(fd, &st) == 0)
                size = (int64_t) st.st_size;
        r = (datasync ? fdatasync(fd) : fsync(fd)) < 0 ? -errno : 0;
        if (fs.delay_ms)
                sleep_ms(fs.delay_ms);
        log_sync(op, path, size, start, now_ns());
        return r;
}

static int sfs_fsync(const char *path, int datasync, struct fuse_file_info *fi) {
        return slow_sync(datasync ? "fdatasync" : "fsync", path, (int) fi->fh, false, datasync);
}

static int sfs_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi) {
        return fallocate((int) fi->fh, mode, off, len) < 0 ? -errno : 0;
}

static int sfs_opendir(const char *path, struct fuse_file_info *fi) {
        int fd = openat(fs.backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                int e = errno;
                close(fd);
                return -e;
        }
        fi->fh = (uint64_t) (uintptr_t) d;
        return 0;
}

static int sfs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
                       enum fuse_readdir_flags flags) {
        DIR *d = (DIR *) (uintptr_t) fi->fh;
        struct dirent *e;

        /* offset 0 each time: the whole directory in one reply (fill's buffer grows) */
        rewinddir(d);
        while ((errno = 0, e = readdir(d))) {
                struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t) DTTOIF(e->d_type) };
                if (fill(buf, e->d_name, &st, 0, 0))
                        break;
        }
        return errno ? -errno : 0;
}

static int sfs_releasedir(const char *path, struct fuse_file_info *fi) {
        closedir((DIR *) (uintptr_t) fi->fh);
        return 0;
}

static int sfs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi) {
        return slow_sync("fsyncdir", path, dirfd((DIR *) (uintptr_t) fi->fh), true, datasync);
}

static const struct fuse_operations ops = {
        .init = sfs_init,
        .getattr = sfs_getattr,
        .access = sfs_access,
        .readlink = sfs_readlink,
        .mknod = sfs_mknod,
        .mkdir = sfs_mkdir,
        .unlink = sfs_unlink,
        .rmdir = sfs_rmdir,
        .symlink = sfs_symlink,
        .rename = sfs_rename,
        .link = sfs_link,
        .chmod = sfs_chmod,
        .chown = sfs_chown,
        .truncate = sfs_truncate,
        .utimens = sfs_utimens,
        .open = sfs_open,
        .create = sfs_create,
        .read = sfs_read,
        .write = sfs_write,
        .statfs = sfs_statfs,
        .flush = sfs_flush,
        .release = sfs_release,
        .fsync = sfs_fsync,
        .fallocate = sfs_fallocate,
        .opendir = sfs_opendir,
        .readdir = sfs_readdir,
        .releasedir = sfs_releasedir,
        .fsyncdir = sfs_fsyncdir,
};

enum { KEY_HELP };

#define OPT(t, p) { t, offsetof(struct opts, p), 1 }
struct opts {
        unsigned delay_ms;
        char *log;
};

static const struct fuse_opt opt_spec[] = {
        OPT("--fsync-delay-ms=%u", delay_ms),
        OPT("--log=%s", log),
        FUSE_OPT_KEY("-h", KEY_HELP),
        FUSE_OPT_KEY("--help", KEY_HELP),
        FUSE_OPT_END,
};

static void usage(FILE *f) {
        fprintf(f, "usage: slowfs [--fsync-delay-ms=N] [--log=FILE] BACKING MOUNTPOINT [-o OPTIONS] [-s]\n");
}

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *out) {
        if (key == KEY_HELP) {
                usage(stdout);
                exit(0);
        }
        if (key == FUSE_OPT_KEY_NONOPT && !fs.backing) {
                fs.backing = strdup(arg);
                return 0; /* ours: the rest go to FUSE */
        }
        return 1;
}

int main(int argc, char *argv[]) {
        struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
        struct opts o = { 0 };
        int r;

        if (fuse_opt_parse(&args, &o, opt_spec, opt_proc) < 0) {
                usage(stderr);
                return 2;
        }
        if (!fs.backing) {
                usage(stderr);
                return 2;
        }
        fs.delay_ms = o.delay_ms;
        fs.log_path = o.log;
        fs.backing_fd = open(fs.backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fs.backing_fd < 0) {
                fprintf(stderr, "slowfs: %s: %s\n", fs.backing, strerror(errno));
                return 1;
        }
        if (fs.log_path) {
                fs.log_fd = open(fs.log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (fs.log_fd < 0) {
                        fprintf(stderr, "slowfs: %s: %s\n", fs.log_path, strerror(errno));
                        return 1;
                }
        }
        /* the mount's permission checks are the kernel's, on the backing files' modes */
        if (fuse_opt_add_arg(&args, "-f") < 0 || fuse_opt_add_arg(&args, "-odefault_permissions,fsname=slowfs") < 0)
                return 1;
        umask(0);
        r = fuse_main(args.argc, args.argv, &ops, NULL);
        fuse_opt_free_args(&args);
        return r;
}
