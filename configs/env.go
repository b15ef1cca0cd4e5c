package configs

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// expandEnv replaces ${VAR} and ${VAR:default} in s. A variable that is
// unset or empty takes the default; without a default it is an error rather
// than an empty string, because a silently empty DSN or path is found much
// later and far from its cause. $${ is a literal ${ (more generally a run
// of two or more $ before { loses one $ and is no reference), which keeps
// Redacted's escaping reversible; a $ not followed by { is kept as is. Defaults cannot contain references, so the first } always
// closes a reference and a default cannot contain }.
//
// The messages never quote a default, which may be a secret.
func expandEnv(s string, lookup func(string) (string, bool)) (string, []error) {
	var (
		b    strings.Builder
		errs []error
	)
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, errors.New("unterminated ${: close it with }, or write $${ for a literal ${"))
				return s, errs
			}
			ref := s[i+2 : i+2+end]
			i += 2 + end + 1
			name, def, hasDef := strings.Cut(ref, ":")
			switch {
			case strings.Contains(ref, "${"):
				errs = append(errs, errors.New("a ${...} reference cannot contain another one; set the variable to the final value"))
			case name == "":
				errs = append(errs, errors.New("empty variable name in ${}: write ${NAME} or ${NAME:default}, or $${ for a literal ${"))
			case !validEnvName(name):
				errs = append(errs, fmt.Errorf("bad environment variable name %q: use letters, digits and _, not starting with a digit", name))
			default:
				if v, ok := lookup(name); ok && v != "" {
					b.WriteString(v)
				} else if hasDef {
					b.WriteString(def)
				} else {
					state := "not set"
					if ok {
						state = "empty"
					}
					errs = append(errs, fmt.Errorf("environment variable %s is %s; set it or write ${%s:default}", name, state, name))
				}
			}
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), errs
}

func validEnvName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

// quotedStyles are the scalar styles whose value is a string whatever it
// looks like; an explicit tag (!!str) fixes the type too.
const quotedStyles = yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle |
	yaml.LiteralStyle | yaml.FoldedStyle | yaml.TaggedStyle

// expandTree expands references in every scalar value under n, never in
// keys, each node once (an anchored node reached again through an alias
// must not be expanded twice, or $${ would turn into a reference).
//
// A plain scalar whose text changed loses its resolved tag so it is typed
// again from the new text: busy_timeout: ${T:5s} is a duration and
// days: ${DAYS:365} a number, while a quoted "${DAYS:365}" stays a string.
// A scalar with a bad reference is remembered so the decoder leaves its
// key at the default instead of adding a second, confusing type error.
func (s *state) expandTree(n *yaml.Node, path string) {
	if n == nil || s.expanded[n] {
		return
	}
	s.expanded[n] = true
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			s.expandTree(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			s.expandTree(n.Content[i+1], joinKey(path, n.Content[i].Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			s.expandTree(c, joinIndex(path, i))
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		v, errs := expandEnv(n.Value, s.lookup)
		if len(errs) > 0 {
			for _, err := range errs {
				s.fail(n.Line, path, err.Error())
			}
			s.badNodes[n] = true
			return
		}
		n.Value = v
		if n.Style&quotedStyles == 0 {
			n.Tag = ""
		}
	}
}
