package sim

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The simulated busybox's shell: what `sh -c SCRIPT` (and `sh` reading
// its stdin) understands. This is the sim's contract for container
// commands:
//
//   - commands joined by ;, newlines, && and ||; # starts a comment
//   - words with '…' (literal) and "…" ($ expanded) quoting and \ escapes
//   - $NAME, ${NAME}, $?, $$, $#, $0…$9 (an expansion is never split)
//   - redirections > >> < (file), >&2 1>&2 2>&1 (and any fd 1/2 dup);
//     /dev/null reads empty and swallows writes
//   - builtins exit [N], cd DIR and :
//
// Pipes, background jobs (&), command substitution, globbing, variable
// assignment and control flow (if, while, …) are not simulated: a script
// using them fails with a syntax error (exit 2), so a test relying on them
// fails loudly instead of passing by accident.

// seg is part of a word as written, expanded when the command runs.
type seg struct {
	text  string
	quote byte // 0 bare, '\'' literal, '"' double-quoted
}

type word []seg

// redir is one redirection: fd op target (or fd >& dup).
type redir struct {
	fd     int
	op     string // ">", ">>", "<" or ">&"
	dup    int
	target word
}

// command is one simple command and how it joins the previous one.
type command struct {
	conn   string // "", ";", "&&" or "||"
	words  []word
	redirs []redir
}

var errNotSimulated = errors.New("not simulated")

// parseScript splits a script into commands.
func parseScript(s string) ([]command, error) {
	var (
		cmds    []command
		cur     command
		w       word
		inWord  bool
		pending *redir
		bare    strings.Builder
	)
	flushBare := func() {
		if bare.Len() > 0 {
			w = append(w, seg{text: bare.String()})
			bare.Reset()
		}
	}
	flushWord := func() {
		flushBare()
		if !inWord {
			return
		}
		if pending != nil {
			pending.target = w
			cur.redirs = append(cur.redirs, *pending)
			pending = nil
		} else {
			cur.words = append(cur.words, w)
		}
		w, inWord = nil, false
	}
	endCmd := func(conn string) error {
		flushWord()
		if pending != nil {
			return fmt.Errorf("redirection without a target")
		}
		if len(cur.words) > 0 || len(cur.redirs) > 0 {
			cmds = append(cmds, cur)
		} else if conn == "&&" || conn == "||" || cur.conn == "&&" || cur.conn == "||" {
			return fmt.Errorf("unexpected %s", conn)
		}
		cur = command{conn: conn}
		return nil
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t':
			flushWord()
		case ch == '#' && !inWord:
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case ch == ';' || ch == '\n':
			if err := endCmd(";"); err != nil {
				return nil, err
			}
		case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
			if err := endCmd(s[i : i+2]); err != nil {
				return nil, err
			}
			i++
		case ch == '&':
			return nil, fmt.Errorf("background jobs (&) are %w", errNotSimulated)
		case ch == '|':
			return nil, fmt.Errorf("pipes (|) are %w", errNotSimulated)
		case ch == '`' || strings.HasPrefix(s[i:], "$("):
			return nil, fmt.Errorf("command substitution is %w", errNotSimulated)
		case ch == '>' || ch == '<' || (!inWord && ch >= '0' && ch <= '9' && i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '<')):
			flushWord()
			if pending != nil {
				return nil, fmt.Errorf("redirection without a target")
			}
			r := redir{fd: 1}
			if ch >= '0' && ch <= '9' {
				r.fd = int(ch - '0')
				i++
			}
			switch {
			case strings.HasPrefix(s[i:], ">>"):
				r.op, i = ">>", i+1
			case strings.HasPrefix(s[i:], ">&"):
				i += 2
				if i >= len(s) || s[i] < '0' || s[i] > '9' {
					return nil, fmt.Errorf("bad fd after >&")
				}
				r.op, r.dup = ">&", int(s[i]-'0')
				cur.redirs = append(cur.redirs, r)
				continue
			case s[i] == '<':
				r.op = "<"
				if r.fd == 1 && ch == '<' {
					r.fd = 0
				}
			default:
				r.op = ">"
			}
			pending = &r
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			flushBare()
			w, inWord = append(w, seg{text: s[i+1 : i+1+j], quote: '\''}), true
			i += j + 1
		case ch == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) && strings.IndexByte("\"\\$`", s[j+1]) >= 0 {
					j++
				} else if s[j] == '`' || strings.HasPrefix(s[j:], "$(") {
					return nil, fmt.Errorf("command substitution is %w", errNotSimulated)
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			flushBare()
			w, inWord = append(w, seg{text: b.String(), quote: '"'}), true
			i = j
		case ch == '\\' && i+1 < len(s):
			flushBare()
			w, inWord = append(w, seg{text: s[i+1 : i+2], quote: '\''}), true
			i++
		default:
			bare.WriteByte(ch)
			inWord = true
		}
	}
	if err := endCmd(""); err != nil {
		return nil, err
	}
	return cmds, nil
}

// shell runs parsed scripts for one process.
type shell struct {
	p    *proc
	io   *stdio
	args []string // $0, $1, …
	last int      // $?
}

// run executes a script; exit ends it early.
func (sh *shell) run(script string) (code int, exit bool) {
	cmds, err := parseScript(script)
	if err != nil {
		fmt.Fprintf(sh.io.err, "sh: syntax error: %v\n", err)
		return 2, false
	}
	for _, c := range cmds {
		if (c.conn == "&&" && sh.last != 0) || (c.conn == "||" && sh.last == 0) {
			continue
		}
		if !sh.p.step() {
			return 137, true
		}
		code, exit := sh.exec(c)
		sh.last = code
		if sh.p.isKilled() {
			return 137, true
		}
		if exit {
			return code, true
		}
	}
	return sh.last, false
}

// exec runs one simple command with its redirections.
func (sh *shell) exec(c command) (code int, exit bool) {
	x := *sh.io
	var files []*fileOut
	defer func() {
		for _, f := range files {
			if err := f.close(); err != nil && code == 0 {
				fmt.Fprintf(sh.io.err, "sh: %v\n", err)
				code = 1
			}
		}
	}()
	for _, r := range c.redirs {
		if err := sh.redirect(&x, r, &files); err != nil {
			fmt.Fprintf(sh.io.err, "sh: %v\n", err)
			return 1, false
		}
	}
	argv := make([]string, len(c.words))
	for i, w := range c.words {
		argv[i] = sh.expand(w)
	}
	if len(argv) == 0 {
		return 0, false
	}
	switch argv[0] {
	case "exit":
		code := sh.last
		if len(argv) > 1 {
			n, err := strconv.Atoi(argv[1])
			if err != nil {
				fmt.Fprintf(x.err, "sh: exit: Illegal number: %s\n", argv[1])
				return 2, true
			}
			code = n & 0xff
		}
		return code, true
	case "cd":
		dir := "/"
		if len(argv) > 1 {
			dir = resolve(x.cwd, argv[1])
		}
		if !sh.p.ctr.fs.isDir(dir) {
			fmt.Fprintf(x.err, "sh: cd: can't cd to %s: No such file or directory\n", argv[1])
			return 2, false
		}
		sh.io.cwd = dir
		return 0, false
	case ":":
		return 0, false
	}
	return runApplet(sh.p, &x, argv), false
}

// redirect applies one redirection to x.
func (sh *shell) redirect(x *stdio, r redir, files *[]*fileOut) error {
	if r.op == ">&" {
		var to = x.out
		if r.dup == 2 {
			to = x.err
		} else if r.dup != 1 {
			return fmt.Errorf("%d: bad file descriptor", r.dup)
		}
		return x.set(r.fd, to)
	}
	target := resolve(x.cwd, sh.expand(r.target))
	if r.op == "<" {
		if target == "/dev/null" {
			x.in = strings.NewReader("")
			return nil
		}
		b, err := sh.p.ctr.fs.read(target)
		if err != nil {
			return fmt.Errorf("can't open %v", err)
		}
		x.in = strings.NewReader(string(b))
		return nil
	}
	if target == "/dev/null" {
		return x.set(r.fd, discard{})
	}
	f := &fileOut{fs: sh.p.ctr.fs, path: target, appendTo: r.op == ">>"}
	if err := f.open(); err != nil {
		return fmt.Errorf("can't create %v", err)
	}
	*files = append(*files, f)
	return x.set(r.fd, f)
}

// expand makes a word's text, with $ expanded outside single quotes.
func (sh *shell) expand(w word) string {
	var b strings.Builder
	for _, s := range w {
		if s.quote == '\'' {
			b.WriteString(s.text)
			continue
		}
		t := s.text
		for i := 0; i < len(t); i++ {
			if t[i] != '$' || i+1 >= len(t) {
				b.WriteByte(t[i])
				continue
			}
			name, n := varName(t[i+1:])
			if n == 0 {
				b.WriteByte('$')
				continue
			}
			b.WriteString(sh.lookup(name))
			i += n
		}
	}
	return b.String()
}

// varName reads the name after a $: how many bytes it spans.
func varName(t string) (string, int) {
	switch {
	case t[0] == '{':
		if j := strings.IndexByte(t, '}'); j > 1 {
			return t[1:j], j + 1
		}
		return "", 0
	case strings.IndexByte("?$#0123456789", t[0]) >= 0:
		return t[:1], 1
	}
	n := 0
	for n < len(t) && (t[n] == '_' || unicode.IsLetter(rune(t[n])) || (n > 0 && unicode.IsDigit(rune(t[n])))) {
		n++
	}
	return t[:n], n
}

func (sh *shell) lookup(name string) string {
	switch name {
	case "?":
		return strconv.Itoa(sh.last)
	case "$":
		return strconv.Itoa(sh.p.pid)
	case "#":
		return strconv.Itoa(max(len(sh.args)-1, 0))
	}
	if n, err := strconv.Atoi(name); err == nil {
		if n < len(sh.args) {
			return sh.args[n]
		}
		return ""
	}
	return sh.p.env[name]
}

// fileOut collects a redirected stream and writes it to the container's
// filesystem when the command ends.
type fileOut struct {
	fs       *memFS
	path     string
	appendTo bool
	buf      []byte
}

func (f *fileOut) open() error { return f.fs.write(f.path, nil, true) }

func (f *fileOut) Write(b []byte) (int, error) {
	f.buf = append(f.buf, b...)
	return len(b), nil
}

func (f *fileOut) close() error { return f.fs.write(f.path, f.buf, f.appendTo) }

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
