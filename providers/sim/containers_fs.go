package sim

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// memFS is a container's filesystem: files and directories in memory, a
// copy of its image's taken at create (so a commit captures what the
// container wrote, and nothing leaks between containers of one image).
type memFS struct {
	mu    sync.Mutex
	files map[string][]byte
	dirs  map[string]bool
}

// busyboxFS is the default image's filesystem, as test/containers/rootfs.sh
// builds it for the real engines (the applets are simulated, so /bin holds
// none).
func busyboxFS() *memFS {
	fs := &memFS{files: map[string][]byte{}, dirs: map[string]bool{}}
	for _, d := range []string{"/", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/etc", "/tmp", "/www", "/root", "/proc", "/sys", "/dev", "/var", "/var/run"} {
		fs.dirs[d] = true
	}
	fs.files["/etc/passwd"] = []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
	fs.files["/etc/group"] = []byte("root:x:0:\nnogroup:x:65534:\n")
	fs.files["/www/index.html"] = []byte("<html><body>canopy busybox</body></html>\n")
	return fs
}

func (fs *memFS) clone() *memFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := &memFS{files: make(map[string][]byte, len(fs.files)), dirs: make(map[string]bool, len(fs.dirs))}
	for p, b := range fs.files {
		out.files[p] = append([]byte(nil), b...)
	}
	for d := range fs.dirs {
		out.dirs[d] = true
	}
	return out
}

// paths lists the files, sorted.
func (fs *memFS) paths() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	out := make([]string, 0, len(fs.files))
	for p := range fs.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (fs *memFS) size() int64 {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var n int64
	for _, b := range fs.files {
		n += int64(len(b))
	}
	return n
}

// resolve makes p absolute against cwd and clean.
func resolve(cwd, p string) string {
	if !strings.HasPrefix(p, "/") {
		p = path.Join(cwd, p)
	}
	return path.Clean("/" + p)
}

// read returns a file's bytes, or the error busybox prints.
func (fs *memFS) read(p string) ([]byte, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if b, ok := fs.files[p]; ok {
		return append([]byte(nil), b...), nil
	}
	if fs.dirs[p] {
		return nil, fmt.Errorf("%s: Is a directory", p)
	}
	return nil, fmt.Errorf("%s: No such file or directory", p)
}

// write creates, truncates or appends to a file whose directory exists.
func (fs *memFS) write(p string, data []byte, appendTo bool) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.dirs[p] {
		return fmt.Errorf("%s: Is a directory", p)
	}
	if !fs.dirs[path.Dir(p)] {
		return fmt.Errorf("%s: No such file or directory", p)
	}
	if appendTo {
		fs.files[p] = append(fs.files[p], data...)
	} else {
		fs.files[p] = append([]byte(nil), data...)
	}
	return nil
}

func (fs *memFS) isDir(p string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.dirs[p]
}

// mkdirAll makes a directory and its parents (Docker makes a missing
// working directory).
func (fs *memFS) mkdirAll(p string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for ; p != "/" && p != "."; p = path.Dir(p) {
		fs.dirs[p] = true
	}
}

// lookupUser resolves "name", "uid", "name:group" or "uid:gid" through the
// container's /etc/passwd, as runc does.
func (fs *memFS) lookupUser(user string) (name string, uid, gid int, err error) {
	if user == "" {
		user = "root"
	}
	u, g, _ := strings.Cut(user, ":")
	passwd, _ := fs.read("/etc/passwd")
	found := false
	for _, line := range strings.Split(string(passwd), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || (f[0] != u && f[2] != u) {
			continue
		}
		name, found = f[0], true
		uid, _ = strconv.Atoi(f[2])
		gid, _ = strconv.Atoi(f[3])
		break
	}
	if !found {
		n, convErr := strconv.Atoi(u)
		if convErr != nil || n < 0 {
			return "", 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file", u)
		}
		name, uid, gid = u, n, n
	}
	if g != "" {
		n, convErr := strconv.Atoi(g)
		if convErr != nil {
			return "", 0, 0, fmt.Errorf("unable to find group %s", g)
		}
		gid = n
	}
	return name, uid, gid, nil
}
