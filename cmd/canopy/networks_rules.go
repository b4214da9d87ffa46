package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	canopyv1 "github.com/canopy-cloud/canopy/gen/go/canopy/v1"
)

// ruleSyntax documents the rule SPEC of 'sg create --rule' and 'sg rule
// add'; the rule table of 'sg get' writes rules back in the same words.
const ruleSyntax = `
A rule is written as one SPEC: comma-separated elements, in any order, each
recognized by its form and given at most once:

  ingress | egress        direction (default ingress)
  tcp | udp | icmp | icmpv6 | any
                          protocol (default any); proto=N for protocol
                          number N (0-255)
  PORT | MIN-MAX          destination ports, with tcp or udp (default all)
  TYPE | TYPE:CODE        ICMP type (and code), with icmp or icmpv6 (default
                          any)
  CIDR (a.b.c.d/n, x::/n) the remote side is this range
  group=G                 the remote side is the members of group G (id or
                          name, in the same cloud)
  self                    the remote side is the group's own members
  ipv4 | ipv6             ether type (default: the CIDR's family, else
                          IPv4)

Without a CIDR or a group the remote side is anywhere. canopyd checks the
rule again and names the field it refuses.

Examples:
  ingress,tcp,22,0.0.0.0/0      SSH from anywhere (IPv4)
  tcp,8000-8080,10.0.0.0/8      a port range from a private range
  tcp,5432,group=app            PostgreSQL from the members of "app"
  any,self                      everything between the group's members
  icmp,8,0.0.0.0/0              ping (echo request)
  egress,ipv6,any               all outbound IPv6`

// portsRE matches the numeric element of a SPEC: a port, a port range, an
// ICMP type or type:code.
var portsRE = regexp.MustCompile(`^(\d+)(?:([-:])(\d+))?$`)

var protocolWords = map[string]string{"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "any": ""}

// parseRule reads a rule SPEC (see ruleSyntax). self is what the "self"
// element names: the group the rule goes to.
func parseRule(spec, self string) (*canopyv1.SecurityGroupRule, error) {
	r := &canopyv1.SecurityGroupRule{}
	seen := map[string]string{}
	once := func(what, el string) error {
		if prev, dup := seen[what]; dup {
			return fmt.Errorf("two %ss (%q and %q)", what, prev, el)
		}
		seen[what] = el
		return nil
	}
	var numbers []string // the port or ICMP element, read once the protocol is known
	for _, el := range strings.Split(spec, ",") {
		el = strings.TrimSpace(el)
		low := strings.ToLower(el)
		var err error
		switch {
		case el == "":
			err = errors.New("an empty element (two commas, or a comma at an end)")
		case low == "ingress" || low == "egress":
			if err = once("direction", el); err == nil {
				r.Direction = canopyv1.SecurityGroupRule_DIRECTION_INGRESS
				if low == "egress" {
					r.Direction = canopyv1.SecurityGroupRule_DIRECTION_EGRESS
				}
			}
		case low == "ipv4" || low == "ipv6":
			if err = once("ether type", el); err == nil {
				r.EtherType = map[string]string{"ipv4": "IPv4", "ipv6": "IPv6"}[low]
			}
		case protocolWords[low] != "" || low == "any":
			if err = once("protocol", el); err == nil {
				r.Protocol = protocolWords[low]
			}
		case strings.HasPrefix(low, "proto="):
			n, perr := strconv.Atoi(el[len("proto="):])
			if perr != nil || n < 0 || n > 255 {
				err = fmt.Errorf("%q: want proto=N with N a protocol number 0-255", el)
			} else if err = once("protocol", el); err == nil {
				r.Protocol = strconv.Itoa(n)
			}
		case low == "self":
			if err = once("remote", el); err == nil {
				r.RemoteGroup = self
			}
		case strings.HasPrefix(low, "group="):
			if g := strings.TrimSpace(el[len("group="):]); g == "" {
				err = fmt.Errorf("%q: want group=G with G a group's id or name", el)
			} else if err = once("remote", el); err == nil {
				r.RemoteGroup = g
			}
		case strings.Contains(el, "/"):
			if err = once("remote", el); err == nil {
				r.RemoteCidr = el
			}
		case portsRE.MatchString(el):
			if err = once("port", el); err == nil {
				numbers = append(numbers, el)
			}
		default:
			err = fmt.Errorf("%q is not a direction, protocol, port, CIDR, group=G, self or ether type", el)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(numbers) == 1 {
		if err := setPorts(r, numbers[0]); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// setPorts reads the numeric element by the rule's protocol: ports for
// tcp and udp, an ICMP type and code for icmp.
func setPorts(r *canopyv1.SecurityGroupRule, el string) error {
	m := portsRE.FindStringSubmatch(el)
	lo, _ := strconv.Atoi(m[1])
	hi := lo
	if m[3] != "" {
		hi, _ = strconv.Atoi(m[3])
	}
	switch r.Protocol {
	case "tcp", "udp", "6", "17":
		if m[2] == ":" {
			return fmt.Errorf("%q: a port range is MIN-MAX", el)
		}
		if lo < 1 || hi > 65535 || lo > hi {
			return fmt.Errorf("%q: want a port 1-65535 or a range MIN-MAX with MIN <= MAX", el)
		}
		r.PortMin, r.PortMax = int32(lo), int32(hi)
	case "icmp", "icmpv6", "1", "58":
		if m[2] == "-" {
			return fmt.Errorf("%q: an ICMP type and code are TYPE:CODE", el)
		}
		if lo > 255 || hi > 255 {
			return fmt.Errorf("%q: ICMP type and code are 0-255", el)
		}
		r.PortMin, r.PortMax = int32(lo), -1
		if m[3] != "" {
			r.PortMax = int32(hi)
		}
	default:
		return fmt.Errorf("%q: ports go with tcp or udp, an ICMP type with icmp or icmpv6; say which protocol", el)
	}
	return nil
}

// parseRules reads repeated rule SPECs; flag names them in errors.
func parseRules(flag string, specs []string, self string) ([]*canopyv1.SecurityGroupRule, error) {
	var out []*canopyv1.SecurityGroupRule
	for _, s := range specs {
		r, err := parseRule(s, self)
		if err != nil {
			return nil, usageErrorf("%s %q: %v (see --help for the rule syntax)", flag, s, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// rulePorts writes a rule's ports in SPEC words: "22", "8000-8080",
// ICMP "8:0"; "any" for all.
func rulePorts(r *canopyv1.SecurityGroupRule) string {
	lo, hi := r.GetPortMin(), r.GetPortMax()
	switch r.GetProtocol() {
	case "icmp", "icmpv6":
		switch {
		case lo < 0:
			return "any"
		case hi < 0:
			return strconv.Itoa(int(lo))
		}
		return fmt.Sprintf("%d:%d", lo, hi)
	}
	switch {
	case lo == 0 && hi == 0:
		return "any"
	case lo == hi:
		return strconv.Itoa(int(lo))
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// ruleRemote writes a rule's remote side in SPEC words: a CIDR, "self"
// (the group's own id), "group=ID", or "anywhere".
func ruleRemote(r *canopyv1.SecurityGroupRule, groupID string) string {
	switch {
	case r.GetRemoteCidr() != "":
		return r.GetRemoteCidr()
	case r.GetRemoteGroup() == "":
		return "anywhere"
	case r.GetRemoteGroup() == groupID:
		return "self"
	}
	return "group=" + r.GetRemoteGroup()
}

func ruleDirection(r *canopyv1.SecurityGroupRule) string {
	if r.GetDirection() == canopyv1.SecurityGroupRule_DIRECTION_EGRESS {
		return "egress"
	}
	return "ingress"
}

func ruleRows(w io.Writer, g *canopyv1.SecurityGroup) {
	rs := make([][]string, len(g.GetRules()))
	for i, r := range g.GetRules() {
		proto := r.GetProtocol()
		if proto == "" {
			proto = "any"
		}
		rs[i] = []string{r.GetId(), ruleDirection(r), r.GetEtherType(), proto, rulePorts(r), ruleRemote(r, g.GetId()), r.GetDescription()}
	}
	rows(w, []string{"ID", "DIRECTION", "ETHER", "PROTO", "PORTS", "REMOTE", "DESCRIPTION"}, rs)
}
