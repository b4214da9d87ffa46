package sim

import (
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// httpd and wget, the simulated busybox's network applets: a container's
// loopback is a map from port to the home an httpd serves (ctr.listen).

func httpd(p *proc, x *stdio, args []string) int {
	port, home, foreground := 80, x.cwd, false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "-f":
			foreground = true
		case "-v", "-vv":
		case "-p", "-h":
			if i+1 >= len(args) {
				fmt.Fprintf(x.err, "httpd: option requires an argument -- '%s'\n", a[1:])
				return 1
			}
			i++
			if a == "-h" {
				home = resolve(x.cwd, args[i])
				continue
			}
			v := args[i]
			if j := strings.LastIndexByte(v, ':'); j >= 0 {
				v = v[j+1:]
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 || n > 65535 {
				fmt.Fprintf(x.err, "httpd: bad port '%s'\n", args[i])
				return 1
			}
			port = n
		default:
			fmt.Fprintf(x.err, "httpd: unrecognized option '%s'\n", a)
			return 1
		}
	}
	if !foreground {
		return 0 // daemonized: the parent returns; the daemon dies with the container's init
	}
	p.st.mu.Lock()
	if _, taken := p.ctr.listen[port]; taken {
		p.st.mu.Unlock()
		fmt.Fprintln(x.err, "httpd: bind: Address already in use")
		return 1
	}
	p.ctr.listen[port] = home
	p.st.mu.Unlock()
	<-p.killed
	p.st.mu.Lock()
	if p.ctr.listen[port] == home {
		delete(p.ctr.listen, port)
	}
	p.st.mu.Unlock()
	return 137
}

func wget(p *proc, x *stdio, args []string) int {
	quiet, output, url := false, "", ""
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-q":
			quiet = true
		case a == "-O" || a == "-T":
			if i+1 >= len(args) {
				fmt.Fprintf(x.err, "wget: option requires an argument -- '%s'\n", a[1:])
				return 1
			}
			i++
			if a == "-O" {
				output = args[i]
			}
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(x.err, "wget: unrecognized option '%s'\n", a)
			return 1
		default:
			url = a
		}
	}
	rest, ok := strings.CutPrefix(url, "http://")
	if !ok {
		fmt.Fprintf(x.err, "wget: not an http URL: %s\n", url)
		return 1
	}
	hostport, file, _ := strings.Cut(rest, "/")
	file = "/" + file
	host, port := hostport, 80
	if h, ps, found := strings.Cut(hostport, ":"); found {
		n, err := strconv.Atoi(ps)
		if err != nil {
			fmt.Fprintf(x.err, "wget: bad port spec '%s'\n", hostport)
			return 1
		}
		host, port = h, n
	}
	p.st.mu.Lock()
	home, listening := p.ctr.listen[port]
	local := host == "127.0.0.1" || host == "localhost" || host == p.ctr.c.Hostname
	p.st.mu.Unlock()
	if !quiet {
		fmt.Fprintf(x.err, "Connecting to %s (%s)\n", hostport, hostport)
	}
	if !local {
		fmt.Fprintf(x.err, "wget: bad address '%s'\n", host)
		return 1
	}
	if !listening {
		fmt.Fprintf(x.err, "wget: can't connect to remote host (%s): Connection refused\n", host)
		return 1
	}
	if strings.HasSuffix(file, "/") {
		file += "index.html"
	}
	body, err := p.ctr.fs.read(path.Join(home, path.Clean(file)))
	if err != nil {
		fmt.Fprintln(x.err, "wget: server returned error: HTTP/1.1 404 Not Found")
		return 1
	}
	var w io.Writer
	switch output {
	case "-":
		w = x.out
	case "/dev/null":
		w = discard{}
	default:
		if output == "" {
			output = path.Base(file)
		}
		if err := p.ctr.fs.write(resolve(x.cwd, output), body, false); err != nil {
			fmt.Fprintf(x.err, "wget: can't open '%s': %v\n", output, err)
			return 1
		}
		w = discard{}
	}
	if _, err := w.Write(body); err != nil {
		return 1
	}
	if !quiet && output != "-" {
		fmt.Fprintf(x.err, "saving to '%s'\n'%s' saved\n", output, output)
	}
	return 0
}

// nc connects to a port and closes at once (input from a closed stdin):
// 0 when a simulated httpd of the container listens there, 1 (Connection
// refused) otherwise. -w and -z are accepted; listening (-l) is not
// simulated.
func nc(p *proc, x *stdio, args []string) int {
	var operands []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-w":
			i++
		case a == "-z":
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(x.err, "nc: unrecognized option '%s'\n", a)
			return 1
		default:
			operands = append(operands, a)
		}
	}
	if len(operands) != 2 {
		fmt.Fprintln(x.err, "Usage: nc [-w SEC] [-z] HOST PORT")
		return 1
	}
	port, err := strconv.Atoi(operands[1])
	if err != nil {
		fmt.Fprintf(x.err, "nc: bad port '%s'\n", operands[1])
		return 1
	}
	host := operands[0]
	p.st.mu.Lock()
	_, listening := p.ctr.listen[port]
	local := host == "127.0.0.1" || host == "localhost" || host == p.ctr.c.Hostname
	p.st.mu.Unlock()
	if !local {
		fmt.Fprintf(x.err, "nc: bad address '%s'\n", host)
		return 1
	}
	if !listening {
		fmt.Fprintln(x.err, "nc: can't connect to remote host (127.0.0.1): Connection refused")
		return 1
	}
	return 0
}
