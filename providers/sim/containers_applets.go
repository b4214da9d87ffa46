package sim

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The simulated busybox applets, each behaving as busybox's for the
// options listed (others are refused as busybox refuses unknown ones):
//
//	echo [-n] ARG…          cat [FILE|-]…        sleep N[smhd]…|infinity
//	true  false  pwd        id [-u|-g|-n]        env    hostname
//	touch FILE…             sh [-c SCRIPT [ARG0 ARG…]] (no -c: reads stdin)
//	httpd [-f] [-v] [-p [IP:]PORT] [-h HOME]
//	wget [-q] [-O FILE|-] [-T SEC] http://HOST[:PORT]/PATH
//
// httpd listens on its port inside its container (the simulated
// containers have only loopback, like Docker's --network none) until it is
// killed; without -f it daemonizes, so its parent returns 0 and the
// daemon, like any orphan of a container's init, does not outlive it.
// wget reaches 127.0.0.1, localhost or the container's hostname and gets
// what a listening httpd serves from its home (/ is index.html).

// stdio is what a running applet reads, writes and where it is.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	cwd      string
}

func (x *stdio) set(fd int, w io.Writer) error {
	switch fd {
	case 1:
		x.out = w
	case 2:
		x.err = w
	default:
		return fmt.Errorf("%d: bad file descriptor", fd)
	}
	return nil
}

var appletNames = map[string]bool{"echo": true, "cat": true, "sleep": true, "true": true, "false": true, "pwd": true,
	"id": true, "env": true, "hostname": true, "touch": true, "sh": true, "httpd": true, "wget": true, "nc": true}

// isApplet reports whether the simulated busybox has a program.
func isApplet(name string) bool {
	return appletNames[path.Base(name)] && (!strings.Contains(name, "/") || strings.HasSuffix(path.Dir(name), "bin"))
}

// runProgram runs a process's program and returns its exit code.
func runProgram(p *proc, argv []string) int {
	return runApplet(p, &stdio{in: p.stdin, out: p.stdout, err: p.stderr, cwd: p.cwd}, argv)
}

func runApplet(p *proc, x *stdio, argv []string) int {
	if !p.step() {
		return 137
	}
	if !isApplet(argv[0]) {
		fmt.Fprintf(x.err, "sh: %s: not found\n", argv[0])
		return 127
	}
	name, args := path.Base(argv[0]), argv[1:]
	code := 0
	switch name {
	case "echo":
		nl := "\n"
		if len(args) > 0 && args[0] == "-n" {
			nl, args = "", args[1:]
		}
		_, err := io.WriteString(x.out, strings.Join(args, " ")+nl)
		code = writeFailed(err)
	case "cat":
		code = cat(p, x, args)
	case "sleep":
		code = sleep(p, x, args)
	case "true":
	case "false":
		code = 1
	case "pwd":
		_, err := fmt.Fprintln(x.out, x.cwd)
		code = writeFailed(err)
	case "id":
		code = id(p, x, args)
	case "env":
		keys := make([]string, 0, len(p.env))
		for k := range p.env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(x.out, "%s=%s\n", k, p.env[k])
		}
	case "hostname":
		p.st.mu.Lock()
		h := p.ctr.c.Hostname
		p.st.mu.Unlock()
		_, err := fmt.Fprintln(x.out, h)
		code = writeFailed(err)
	case "touch":
		for _, f := range args {
			if err := p.ctr.fs.write(resolve(x.cwd, f), nil, true); err != nil {
				fmt.Fprintf(x.err, "touch: %v\n", err)
				code = 1
			}
		}
	case "sh":
		code = shApplet(p, x, args)
	case "httpd":
		code = httpd(p, x, args)
	case "wget":
		code = wget(p, x, args)
	case "nc":
		code = nc(p, x, args)
	}
	if p.isKilled() {
		return 137
	}
	return code
}

func writeFailed(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

func cat(p *proc, x *stdio, args []string) int {
	if len(args) == 0 {
		args = []string{"-"}
	}
	code := 0
	for _, f := range args {
		if f == "-" {
			if _, err := io.Copy(x.out, x.in); err != nil && !p.isKilled() {
				fmt.Fprintf(x.err, "cat: %v\n", err)
				code = 1
			}
			continue
		}
		b, err := p.ctr.fs.read(resolve(x.cwd, f))
		if err != nil {
			fmt.Fprintf(x.err, "cat: can't open '%s': %v\n", f, strings.TrimPrefix(err.Error(), resolve(x.cwd, f)+": "))
			code = 1
			continue
		}
		if _, err := x.out.Write(b); err != nil {
			return 1
		}
	}
	return code
}

// sleep waits on the wall clock; a paused container's sleep that ran out
// returns when it is unpaused, as under the freezer.
func sleep(p *proc, x *stdio, args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(x.err, "sleep: missing operand")
		return 1
	}
	var total time.Duration
	forever := false
	for _, a := range args {
		if a == "inf" || a == "infinity" {
			forever = true
			continue
		}
		unit := time.Second
		num := a
		if n := len(a); n > 0 && strings.IndexByte("smhd", a[n-1]) >= 0 {
			num = a[:n-1]
			unit = map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}[a[n-1]]
		}
		f, err := strconv.ParseFloat(num, 64)
		if err != nil || f < 0 {
			fmt.Fprintf(x.err, "sleep: invalid number '%s'\n", a)
			return 1
		}
		total += time.Duration(f * float64(unit))
	}
	var fire <-chan time.Time
	if !forever {
		t := time.NewTimer(total)
		defer t.Stop()
		fire = t.C
	}
	select {
	case <-fire:
		if !p.step() {
			return 137
		}
		return 0
	case <-p.killed:
		return 137
	}
}

func id(p *proc, x *stdio, args []string) int {
	group := func(gid int) string {
		g, _ := p.ctr.fs.read("/etc/group")
		for _, line := range strings.Split(string(g), "\n") {
			if f := strings.Split(line, ":"); len(f) >= 3 && f[2] == strconv.Itoa(gid) {
				return f[0]
			}
		}
		return strconv.Itoa(gid)
	}
	var out string
	switch strings.Join(args, " ") {
	case "":
		out = fmt.Sprintf("uid=%d(%s) gid=%d(%s) groups=%d(%s)", p.uid, p.user, p.gid, group(p.gid), p.gid, group(p.gid))
	case "-u":
		out = strconv.Itoa(p.uid)
	case "-g":
		out = strconv.Itoa(p.gid)
	case "-un", "-nu", "-u -n", "-n -u":
		out = p.user
	default:
		fmt.Fprintf(x.err, "id: unrecognized option %q\n", strings.Join(args, " "))
		return 1
	}
	_, err := fmt.Fprintln(x.out, out)
	return writeFailed(err)
}

func shApplet(p *proc, x *stdio, args []string) int {
	sx := *x
	sh := &shell{p: p, io: &sx, args: []string{"sh"}}
	if len(args) > 0 && args[0] == "-c" {
		if len(args) < 2 {
			fmt.Fprintln(x.err, "sh: -c requires an argument")
			return 2
		}
		if len(args) > 2 {
			sh.args = args[2:]
		}
		code, _ := sh.run(args[1])
		return code
	}
	if len(args) > 0 {
		fmt.Fprintf(x.err, "sh: can't open '%s': script files are not simulated\n", args[0])
		return 2
	}
	in := bufio.NewReader(x.in)
	for {
		line, err := in.ReadString('\n')
		if line != "" {
			if code, exit := sh.run(line); exit {
				return code
			}
		}
		if err != nil {
			return sh.last
		}
	}
}
