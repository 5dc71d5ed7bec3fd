/*
 * lazyfs: a FUSE passthrough that can forget what was never fsynced, for power-loss faults.
 *
 *   lazyfs [-d] BACKING_DIR MOUNTPOINT
 *
 * Every operation goes through to BACKING_DIR at once; what a power loss would lose is kept
 * apart as an undo log. The durability model is LevelDB's: an fsync or fdatasync of a file makes
 * that file's earlier writes durable, and no other data is. Metadata operations (create, mkdir,
 * rename, unlink, link, symlink, chmod, chown, utimens) are applied to BACKING_DIR and kept
 * across a discard, as LazyFS does: only file contents and sizes are rolled back.
 *
 * Per regular file (keyed by the backing inode, with an fd of our own to it, so renames and
 * unlinks of open files do not matter) the first modification since the last fsync records the
 * size at that point (the synced size). Before each write or truncate the old bytes the
 * operation destroys are saved, restricted to [0, synced size): bytes beyond it vanish with the
 * final truncate anyway. A discard applies every file's saved ranges newest first, which
 * restores the synced contents, then truncates the file to its synced size. An fsync forgets the
 * file's log. Consequences: a file created and never fsynced ends up empty; a file unlinked
 * since stays unlinked; a renamed file keeps its new name and gets its synced contents back.
 *
 * Control, on stdin, one command per line (answers on stdout):
 *   discard  roll back every unsynced change  -> "ok <files> <bytes>"
 *   pending  what a discard would roll back   -> "ok <files> <bytes>"
 * <files> counts files with unsynced changes, <bytes> the bytes restored plus the bytes cut off.
 * "ready" is printed once the file system is mounted. SIGTERM/SIGINT/SIGHUP, or EOF on stdin
 * (the controlling process went away), unmount and exit.
 *
 * The FUSE loop is single-threaded and every operation, like a command, holds one mutex: a
 * discard never sees an operation half done. The kernel caches nothing that could outlive a
 * discard: attribute and entry timeouts are 0, page cache is dropped at every open (no
 * keep_cache) and writes are write-through (no writeback cache), so data written by a process
 * has reached this process by the time its write() returns.
 */
#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

static int backing_fd = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Old bytes of a range, to be written back at `off` on discard. */
struct undo {
	off_t off;
	size_t len;
	char *data;
	struct undo *prev;
};

/* A file with changes since its last fsync. */
struct rec {
	dev_t dev;
	ino_t ino;
	int fd; /* O_RDWR, ours: valid whatever happens to the file's names or the caller's fds */
	off_t synced_size;
	struct undo *top; /* newest first */
	uint64_t saved_bytes;
	struct rec *next;
};

static struct rec *recs;

/* A path as the backing directory's *at() functions take it. */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static struct rec *find_rec(dev_t dev, ino_t ino, struct rec ***link)
{
	struct rec **p = &recs;
	for (; *p; p = &(*p)->next) {
		if ((*p)->dev == dev && (*p)->ino == ino) {
			if (link)
				*link = p;
			return *p;
		}
	}
	return NULL;
}

static void free_rec(struct rec **link)
{
	struct rec *r = *link;
	*link = r->next;
	while (r->top) {
		struct undo *u = r->top;
		r->top = u->prev;
		free(u->data);
		free(u);
	}
	close(r->fd);
	free(r);
}

/* The record of the file behind fd, created (synced size = its size now) on first use. */
static struct rec *track(int fd, int *err)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	struct rec *r = find_rec(st.st_dev, st.st_ino, NULL);
	if (r)
		return r;
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	int own = open(proc, O_RDWR | O_CLOEXEC);
	if (own < 0) {
		*err = -errno;
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		close(own);
		*err = -ENOMEM;
		return NULL;
	}
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->fd = own;
	r->synced_size = st.st_size;
	r->next = recs;
	recs = r;
	return r;
}

/* Saves the bytes of [off, off+len) that exist now and lie below the synced size. */
static int save_range(struct rec *r, off_t off, off_t len)
{
	struct stat st;
	if (fstat(r->fd, &st) < 0)
		return -errno;
	off_t end = off + len;
	off_t limit = st.st_size < r->synced_size ? st.st_size : r->synced_size;
	if (end > limit)
		end = limit;
	if (off >= end)
		return 0;
	size_t n = (size_t)(end - off);
	struct undo *u = malloc(sizeof *u);
	char *data = malloc(n);
	if (!u || !data) {
		free(u);
		free(data);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(r->fd, data + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int e = k < 0 ? -errno : -EIO;
			free(u);
			free(data);
			return e;
		}
		got += (size_t)k;
	}
	u->off = off;
	u->len = n;
	u->data = data;
	u->prev = r->top;
	r->top = u;
	r->saved_bytes += n;
	return 0;
}

/* Everything written to the file so far is durable: forget its undo log. */
static void synced(int fd)
{
	struct stat st;
	struct rec **link;
	if (fstat(fd, &st) == 0 && find_rec(st.st_dev, st.st_ino, &link))
		free_rec(link);
}

/* Drops the record of a file whose last name is gone (nothing to roll back for it). */
static void forget_if_gone(dev_t dev, ino_t ino)
{
	struct rec **link;
	struct stat st;
	if (find_rec(dev, ino, &link) && fstat((*link)->fd, &st) == 0 && st.st_nlink == 0)
		free_rec(link);
}

/* Truncate with the cut bytes saved. */
static int truncate_fd(int fd, off_t size)
{
	int err = 0;
	struct rec *r = track(fd, &err);
	if (!r)
		return err;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (size < st.st_size && (err = save_range(r, size, st.st_size - size)) < 0)
		return err;
	return ftruncate(fd, size) < 0 ? -errno : 0;
}

/* What a discard would roll back (and, when apply is set, rolls it back). */
static void rollback(int apply, unsigned *files, uint64_t *bytes)
{
	*files = 0;
	*bytes = 0;
	struct rec **link = &recs;
	while (*link) {
		struct rec *r = *link;
		struct stat st;
		if (fstat(r->fd, &st) < 0 || st.st_nlink == 0) {
			if (apply)
				free_rec(link);
			else
				link = &r->next;
			continue;
		}
		uint64_t cut = st.st_size > r->synced_size ? (uint64_t)(st.st_size - r->synced_size) : 0;
		if (r->saved_bytes == 0 && cut == 0 && st.st_size == r->synced_size) {
			/* nothing changed after all */
		} else {
			(*files)++;
			*bytes += r->saved_bytes + cut;
		}
		if (!apply) {
			link = &r->next;
			continue;
		}
		for (struct undo *u = r->top; u; u = u->prev) {
			size_t done = 0;
			while (done < u->len) {
				ssize_t k = pwrite(r->fd, u->data + done, u->len - done, u->off + (off_t)done);
				if (k < 0 && errno == EINTR)
					continue;
				if (k < 0) {
					fprintf(stderr, "lazyfs: rollback write of inode %lu failed: %s\n", (unsigned long)r->ino, strerror(errno));
					break;
				}
				done += (size_t)k;
			}
		}
		if (ftruncate(r->fd, r->synced_size) < 0)
			fprintf(stderr, "lazyfs: rollback truncate of inode %lu failed: %s\n", (unsigned long)r->ino, strerror(errno));
		free_rec(link);
	}
}

/* ---- FUSE operations ---- */

#define LOCKED(expr)                          \
	do {                                  \
		pthread_mutex_lock(&lock);    \
		int res_ = (expr);            \
		pthread_mutex_unlock(&lock);  \
		return res_;                  \
	} while (0)

static void *lz_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	cfg->use_ino = 1;
	cfg->nullpath_ok = 1;
	cfg->hard_remove = 1;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->direct_io = 0;
	return NULL;
}

static int do_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int r = fi ? fstat((int)fi->fh, st) : fstatat(backing_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}
static int lz_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) { LOCKED(do_getattr(path, st, fi)); }

static int do_access(const char *path, int mask)
{
	return faccessat(backing_fd, rel(path), mask, 0) < 0 ? -errno : 0;
}
static int lz_access(const char *path, int mask) { LOCKED(do_access(path, mask)); }

static int do_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n = readlinkat(backing_fd, rel(path), buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}
static int lz_readlink(const char *path, char *buf, size_t size) { LOCKED(do_readlink(path, buf, size)); }

struct dirh {
	DIR *dp;
	struct dirent *entry;
	off_t offset;
};

static int do_opendir(const char *path, struct fuse_file_info *fi)
{
	int fd = openat(backing_fd, rel(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct dirh *d = calloc(1, sizeof *d);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	d->dp = fdopendir(fd);
	if (!d->dp) {
		int e = -errno;
		close(fd);
		free(d);
		return e;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}
static int lz_opendir(const char *path, struct fuse_file_info *fi) { LOCKED(do_opendir(path, fi)); }

static int do_readdir(void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *fi)
{
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	if (offset != d->offset) {
		seekdir(d->dp, offset);
		d->entry = NULL;
		d->offset = offset;
	}
	for (;;) {
		if (!d->entry) {
			errno = 0;
			d->entry = readdir(d->dp);
			if (!d->entry) {
				if (errno)
					return -errno;
				break;
			}
		}
		struct stat st;
		memset(&st, 0, sizeof st);
		st.st_ino = d->entry->d_ino;
		st.st_mode = (mode_t)d->entry->d_type << 12;
		off_t next = telldir(d->dp);
		if (filler(buf, d->entry->d_name, &st, next, 0))
			break;
		d->entry = NULL;
		d->offset = next;
	}
	return 0;
}
static int lz_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t offset, struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)path;
	(void)flags;
	LOCKED(do_readdir(buf, filler, offset, fi));
}

static int lz_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct dirh *d = (struct dirh *)(uintptr_t)fi->fh;
	pthread_mutex_lock(&lock);
	closedir(d->dp);
	free(d);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int do_mknod(const char *path, mode_t mode, dev_t rdev)
{
	return mknodat(backing_fd, rel(path), mode, rdev) < 0 ? -errno : 0;
}
static int lz_mknod(const char *path, mode_t mode, dev_t rdev) { LOCKED(do_mknod(path, mode, rdev)); }

static int do_mkdir(const char *path, mode_t mode)
{
	return mkdirat(backing_fd, rel(path), mode) < 0 ? -errno : 0;
}
static int lz_mkdir(const char *path, mode_t mode) { LOCKED(do_mkdir(path, mode)); }

static int do_unlink(const char *path)
{
	struct stat st;
	int known = fstatat(backing_fd, rel(path), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	if (unlinkat(backing_fd, rel(path), 0) < 0)
		return -errno;
	if (known)
		forget_if_gone(st.st_dev, st.st_ino);
	return 0;
}
static int lz_unlink(const char *path) { LOCKED(do_unlink(path)); }

static int do_rmdir(const char *path)
{
	return unlinkat(backing_fd, rel(path), AT_REMOVEDIR) < 0 ? -errno : 0;
}
static int lz_rmdir(const char *path) { LOCKED(do_rmdir(path)); }

static int do_symlink(const char *from, const char *to)
{
	return symlinkat(from, backing_fd, rel(to)) < 0 ? -errno : 0;
}
static int lz_symlink(const char *from, const char *to) { LOCKED(do_symlink(from, to)); }

static int do_rename(const char *from, const char *to, unsigned int flags)
{
	struct stat st;
	int replaced = fstatat(backing_fd, rel(to), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
	if (renameat2(backing_fd, rel(from), backing_fd, rel(to), flags) < 0)
		return -errno;
	if (replaced)
		forget_if_gone(st.st_dev, st.st_ino);
	return 0;
}
static int lz_rename(const char *from, const char *to, unsigned int flags) { LOCKED(do_rename(from, to, flags)); }

static int do_link(const char *from, const char *to)
{
	return linkat(backing_fd, rel(from), backing_fd, rel(to), 0) < 0 ? -errno : 0;
}
static int lz_link(const char *from, const char *to) { LOCKED(do_link(from, to)); }

static int do_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int r = fi ? fchmod((int)fi->fh, mode) : fchmodat(backing_fd, rel(path), mode, 0);
	return r < 0 ? -errno : 0;
}
static int lz_chmod(const char *path, mode_t mode, struct fuse_file_info *fi) { LOCKED(do_chmod(path, mode, fi)); }

static int do_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	int r = fi ? fchown((int)fi->fh, uid, gid) : fchownat(backing_fd, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}
static int lz_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi) { LOCKED(do_chown(path, uid, gid, fi)); }

static int do_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		return truncate_fd((int)fi->fh, size);
	int fd = openat(backing_fd, rel(path), O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = truncate_fd(fd, size);
	close(fd);
	return r;
}
static int lz_truncate(const char *path, off_t size, struct fuse_file_info *fi) { LOCKED(do_truncate(path, size, fi)); }

static int do_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
	int r = fi ? futimens((int)fi->fh, ts) : utimensat(backing_fd, rel(path), ts, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}
static int lz_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi) { LOCKED(do_utimens(path, ts, fi)); }

/*
 * O_APPEND is left off the backing fd: the kernel passes the offset it appends at, and the undo
 * log must know where a write lands. O_TRUNC is done here, with the cut bytes saved.
 */
static int open_backing(const char *path, struct fuse_file_info *fi, int create, mode_t mode)
{
	int flags = (fi->flags & ~(O_APPEND | O_TRUNC)) | O_CLOEXEC;
	int fd = create ? openat(backing_fd, rel(path), flags | O_CREAT, mode) : openat(backing_fd, rel(path), flags);
	if (fd < 0)
		return -errno;
	if (fi->flags & O_TRUNC) {
		int r = truncate_fd(fd, 0);
		if (r < 0) {
			close(fd);
			return r;
		}
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 0;
	fi->direct_io = 0;
	return 0;
}
static int lz_open(const char *path, struct fuse_file_info *fi) { LOCKED(open_backing(path, fi, 0, 0)); }
static int lz_create(const char *path, mode_t mode, struct fuse_file_info *fi) { LOCKED(open_backing(path, fi, 1, mode)); }

static int do_read(char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}
static int lz_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	LOCKED(do_read(buf, size, off, fi));
}

static int do_write(const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	int err = 0;
	struct rec *r = track(fd, &err);
	if (!r)
		return err;
	if ((err = save_range(r, off, (off_t)size)) < 0)
		return err;
	ssize_t n = pwrite(fd, buf, size, off);
	if (n < 0)
		return -errno;
	if (fi->flags & (O_SYNC | O_DSYNC))
		synced(fd);
	return (int)n;
}
static int lz_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	LOCKED(do_write(buf, size, off, fi));
}

static int do_statfs(struct statvfs *st)
{
	return fstatvfs(backing_fd, st) < 0 ? -errno : 0;
}
static int lz_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	LOCKED(do_statfs(st));
}

/* close() is not a sync: nothing to do (POSIX locks are kept by the kernel, not here). */
static int lz_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return 0;
}

static int lz_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	pthread_mutex_lock(&lock);
	close((int)fi->fh);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int do_fsync(int datasync, struct fuse_file_info *fi)
{
	int fd = (int)fi->fh;
	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		return -errno;
	synced(fd);
	return 0;
}
static int lz_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	LOCKED(do_fsync(datasync, fi));
}

/* Directory entries are never rolled back, so a directory fsync has nothing to make durable. */
static int lz_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return 0;
}

static const struct fuse_operations ops = {
	.init = lz_init,
	.getattr = lz_getattr,
	.access = lz_access,
	.readlink = lz_readlink,
	.opendir = lz_opendir,
	.readdir = lz_readdir,
	.releasedir = lz_releasedir,
	.mknod = lz_mknod,
	.mkdir = lz_mkdir,
	.unlink = lz_unlink,
	.rmdir = lz_rmdir,
	.symlink = lz_symlink,
	.rename = lz_rename,
	.link = lz_link,
	.chmod = lz_chmod,
	.chown = lz_chown,
	.truncate = lz_truncate,
	.utimens = lz_utimens,
	.open = lz_open,
	.create = lz_create,
	.read = lz_read,
	.write = lz_write,
	.statfs = lz_statfs,
	.flush = lz_flush,
	.release = lz_release,
	.fsync = lz_fsync,
	.fsyncdir = lz_fsyncdir,
};

/* ---- control ---- */

static void reply(const char *line)
{
	size_t n = strlen(line), done = 0;
	while (done < n) {
		ssize_t k = write(STDOUT_FILENO, line + done, n - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return;
		done += (size_t)k;
	}
}

static void *control(void *arg)
{
	(void)arg;
	char line[256];
	FILE *in = fdopen(STDIN_FILENO, "r");
	while (in && fgets(line, sizeof line, in)) {
		line[strcspn(line, "\r\n")] = 0;
		char out[128];
		unsigned files;
		uint64_t bytes;
		if (strcmp(line, "discard") == 0 || strcmp(line, "pending") == 0) {
			int apply = line[0] == 'd';
			pthread_mutex_lock(&lock);
			rollback(apply, &files, &bytes);
			pthread_mutex_unlock(&lock);
			if (apply)
				fprintf(stderr, "lazyfs: discarded unsynced data of %u files, %llu bytes\n", files, (unsigned long long)bytes);
			snprintf(out, sizeof out, "ok %u %llu\n", files, (unsigned long long)bytes);
		} else if (line[0] == 0) {
			continue;
		} else {
			snprintf(out, sizeof out, "error unknown command (discard, pending)\n");
		}
		reply(out);
	}
	/* EOF: whoever controlled this mount is gone; do not leave it behind. */
	kill(getpid(), SIGTERM);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: lazyfs [-d] BACKING_DIR MOUNTPOINT\n");
}

int main(int argc, char **argv)
{
	int debug = 0, argi = 1;
	if (argi < argc && strcmp(argv[argi], "-d") == 0) {
		debug = 1;
		argi++;
	}
	if (argc - argi != 2) {
		usage();
		return 2;
	}
	const char *backing = argv[argi], *mountpoint = argv[argi + 1];
	backing_fd = open(backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (backing_fd < 0) {
		fprintf(stderr, "lazyfs: cannot open backing directory %s: %s\n", backing, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	umask(0);

	char fsname[4200];
	snprintf(fsname, sizeof fsname, "fsname=lazyfs:%s,subtype=lazyfs", backing);
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	if (fuse_opt_add_arg(&args, argv[0]) || fuse_opt_add_arg(&args, "-o") || fuse_opt_add_arg(&args, fsname) || (debug && fuse_opt_add_arg(&args, "-d"))) {
		fprintf(stderr, "lazyfs: out of memory\n");
		return 1;
	}
	struct fuse *f = fuse_new(&args, &ops, sizeof ops, NULL);
	if (!f)
		return 1;
	if (fuse_mount(f, mountpoint) != 0) {
		fprintf(stderr, "lazyfs: cannot mount at %s\n", mountpoint);
		fuse_destroy(f);
		return 1;
	}
	struct fuse_session *se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}

	/* The control thread must not take the signals meant to stop the FUSE loop. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	pthread_t th;
	int terr = pthread_create(&th, NULL, control, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (terr != 0) {
		fprintf(stderr, "lazyfs: cannot start the control thread: %s\n", strerror(terr));
		fuse_remove_signal_handlers(se);
		fuse_unmount(f);
		fuse_destroy(f);
		return 1;
	}
	pthread_detach(th);

	reply("ready\n");
	int ret = fuse_loop(f);
	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	fprintf(stderr, "lazyfs: unmounted %s\n", mountpoint);
	return ret < 0 ? 1 : 0;
}
