"""
cffi (API mode) build script for L{vcd.kernel._lxc}, the binding to liblxc.

Only the members of C{struct lxc_container} that vcd calls are declared; the
C compiler works out their offsets from C{<lxc/lxccontainer.h>} (the C{...;}
in the struct), so the binding follows whatever liblxc release it is built
against. Add a member here when the kernel layer starts using it.

Built by setuptools through C{cffi_modules} in C{setup.py} (in a source
tree: C{python setup.py build_ext --inplace}, which C{vcd-setup test}
runs). Needs the liblxc headers (Debian: C{lxc-dev}).
"""

from cffi import FFI

CDEF = """
typedef int pid_t;
typedef unsigned int uid_t;
typedef unsigned int gid_t;

typedef enum lxc_attach_env_policy_t {
    LXC_ATTACH_KEEP_ENV,
    LXC_ATTACH_CLEAR_ENV,
    ...
} lxc_attach_env_policy_t;

#define LXC_ATTACH_DEFAULT ...
#define LXC_ATTACH_TERMINAL ...

typedef int (*lxc_attach_exec_t)(void *payload);

typedef struct lxc_attach_options_t {
    int attach_flags;
    int namespaces;
    long personality;
    char *initial_cwd;
    uid_t uid;
    gid_t gid;
    lxc_attach_env_policy_t env_policy;
    char **extra_env_vars;
    char **extra_keep_env;
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    int log_fd;
    ...;
} lxc_attach_options_t;

typedef struct lxc_attach_command_t {
    char *program;
    char **argv;
} lxc_attach_command_t;

int lxc_attach_run_command(void *payload);

struct lxc_container {
    char *name;
    char *error_string;
    int error_num;

    /* Queries: safe in-process on a dedicated thread pool. */
    bool (*is_defined)(struct lxc_container *c);
    const char *(*state)(struct lxc_container *c);
    bool (*is_running)(struct lxc_container *c);
    pid_t (*init_pid)(struct lxc_container *c);
    char *(*config_file_name)(struct lxc_container *c);
    int (*get_cgroup_item)(struct lxc_container *c, const char *subsys,
                           char *retv, int inlen);
    bool (*set_cgroup_item)(struct lxc_container *c, const char *subsys,
                            const char *value);
    /* Asks the container's monitor: what the host made, not the VPS.
       The caller frees the result. */
    char *(*get_running_config_item)(struct lxc_container *c,
                                     const char *key);

    /* Stopping: no fork, safe on the thread pool. */
    bool (*stop)(struct lxc_container *c);
    bool (*shutdown)(struct lxc_container *c, int timeout);
    bool (*freeze)(struct lxc_container *c);
    bool (*unfreeze)(struct lxc_container *c);

    /* Forking: only in the single-threaded worker process. */
    bool (*load_config)(struct lxc_container *c, const char *alt_file);
    bool (*want_daemonize)(struct lxc_container *c, bool state);
    bool (*want_close_all_fds)(struct lxc_container *c, bool state);
    bool (*start)(struct lxc_container *c, int useinit, char * const argv[]);
    int (*attach)(struct lxc_container *c, lxc_attach_exec_t exec_function,
                  void *exec_payload, lxc_attach_options_t *options,
                  pid_t *attached_process);

    ...;
};

struct lxc_container *lxc_container_new(const char *name,
                                        const char *configpath);
int lxc_container_put(struct lxc_container *c);
const char *lxc_get_version(void);

/* config_file_name() returns memory the caller must free(). */
void free(void *ptr);

/* libc, for the worker's forked child that sets a VPS's NIS domain name:
   join its UTS namespace, then set the name there. Errors in ffi.errno. */
#define CLONE_NEWUTS ...
int setns(int fd, int nstype);
int setdomainname(const char *name, size_t len);
int sethostname(const char *name, size_t len);

/* -- vcd.kernel.syscalls: file-system calls the os module lacks. ------- */
/* renameat2() is in glibc >= 2.28 <stdio.h>, syncfs() in <unistd.h>, both
   under _GNU_SOURCE; AT_FDCWD is from <fcntl.h>. */
#define AT_FDCWD ...
#define RENAME_NOREPLACE ...
int renameat2(int olddirfd, const char *oldpath,
              int newdirfd, const char *newpath, unsigned int flags);
int syncfs(int fd);
/* -- end of vcd.kernel.syscalls ---------------------------------------- */

/* -- vcd.kernel.idmap: the root of an unprivileged VPS. ---------------- */
/* A user namespace that holds a VPS's id map, idmapped mounts of its
   layers (glibc >= 2.36 <sys/mount.h>), and the overlay mounted with the
   file-system ids of the VPS's root (<sys/fsuid.h>, <sys/prctl.h>). */
#define CLONE_NEWUSER ...
#define OPEN_TREE_CLONE ...
#define OPEN_TREE_CLOEXEC ...
#define AT_EMPTY_PATH ...
#define AT_RECURSIVE ...
#define MOUNT_ATTR_RDONLY ...
#define MOUNT_ATTR_IDMAP ...
#define MNT_DETACH ...
#define PR_SET_SECUREBITS ...
#define PR_GET_SECUREBITS ...
#define SECBIT_NO_SETUID_FIXUP ...
struct mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};
int unshare(int flags);
int open_tree(int dfd, const char *filename, unsigned int flags);
int mount_setattr(int dfd, const char *path, unsigned int flags,
                  struct mount_attr *uattr, size_t usize);
int mount(const char *source, const char *target, const char *fstype,
          unsigned long flags, const void *data);
int umount2(const char *target, int flags);
int prctl(int option, unsigned long arg2, unsigned long arg3,
          unsigned long arg4, unsigned long arg5);
int setfsuid(uid_t fsuid);
int setfsgid(gid_t fsgid);
/* -- end of vcd.kernel.idmap ------------------------------------------- */
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "vcd.kernel._lxc",
    """
    #ifndef _GNU_SOURCE /* Python.h, included before this, defines it */
    #define _GNU_SOURCE /* setns(), setdomainname(), renameat2(), syncfs() */
    #endif
    #include <sched.h>
    #include <stdlib.h>
    #include <lxc/lxccontainer.h>
    #include <lxc/attach_options.h>
    /* vcd.kernel.syscalls */
    #include <fcntl.h>
    #include <stdio.h>
    #include <unistd.h>
    /* vcd.kernel.idmap */
    #include <sys/mount.h>
    #include <sys/prctl.h>
    #include <sys/fsuid.h>
    #include <linux/securebits.h>
    """,
    libraries=["lxc"],
)
