package configs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a configuration value that must never be printed: a DSN with
// its password, a token. Its String, GoString and MarshalText give "***"
// (or "" when unset), so a Config passed to a logger, fmt or an encoder
// cannot leak it; Reveal gives the value to the code that needs it.
//
// A Secret field named X in the yaml schema may have a sibling string field
// X_file: the secret is then read from that file (Docker and systemd
// credentials), trimmed of surrounding white space.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// String hides the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// GoString hides the value from %#v.
func (s Secret) GoString() string { return fmt.Sprintf("configs.Secret(%q)", s.String()) }

// MarshalText hides the value from YAML and JSON encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

var secretType = reflect.TypeFor[Secret]()

// maxSecretSize bounds what is read from a secret file: a DSN or token is
// short, and a mistyped path (a log file, /dev/zero) must not be read whole.
const maxSecretSize = 64 << 10

// secrets walks v for Secret fields with a sibling X_file field, reports
// both being set, and when read is true fills the secret from the file.
func (s *state) secrets(c *Config, v reflect.Value, path string, read bool) {
	switch v.Kind() {
	case reflect.Slice:
		for i := range v.Len() {
			s.secrets(c, v.Index(i), joinIndex(path, i), read)
		}
		return
	case reflect.Struct:
	default:
		return
	}
	fields := yamlFields(v.Type())
	for name, i := range fields {
		f := v.Field(i)
		if f.Type() != secretType {
			s.secrets(c, f, joinKey(path, name), read)
			continue
		}
		fi, ok := fields[name+"_file"]
		if !ok || v.Field(fi).Kind() != reflect.String {
			continue
		}
		key, fileKey := joinKey(path, name), joinKey(path, name+"_file")
		file := v.Field(fi).String()
		switch {
		case file == "":
		case f.String() != "":
			s.fail(c.line(fileKey), fileKey,
				fmt.Sprintf("both %s (line %d) and %s are set; keep one", name, c.line(key), name+"_file"))
		case read:
			secret, err := readSecret(c.resolve(file))
			if err != nil {
				s.add(c.line(fileKey), fileKey, fmt.Sprintf("cannot read the secret: %v", err), err)
				s.failed[fileKey] = true
				continue
			}
			f.SetString(secret)
		}
	}
}

// readSecret reads a secret file. The messages name the file, never its
// contents.
func readSecret(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", err // an *fs.PathError, naming the file
	}
	if len(data) > maxSecretSize {
		return "", fmt.Errorf("%s is larger than %d KiB; is it the right file?", path, maxSecretSize>>10)
	}
	secret := strings.TrimSpace(string(data))
	if secret == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return secret, nil
}

// Redacted prints the configuration as YAML, defaults filled and secrets
// shown as "***", for `pointsync check-config --print`. A secret read from
// a file is left out (its _file key is printed), and a literal ${ is
// written $${, so the output loads again as the same configuration.
func (c *Config) Redacted() string {
	var n yaml.Node
	if err := n.Encode(c); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	tidyForPrint(&n)
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := errors.Join(enc.Encode(&n), enc.Close()); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	return b.String()
}

// String is Redacted, so printing a Config never shows a secret.
func (c *Config) String() string { return c.Redacted() }

func tidyForPrint(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		n.Value = strings.ReplaceAll(n.Value, "${", "$${")
	case yaml.MappingNode:
		fromFile := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k, ok := strings.CutSuffix(n.Content[i].Value, "_file"); ok && n.Content[i+1].Value != "" {
				fromFile[k] = true
			}
		}
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if fromFile[k.Value] && v.Value == "***" {
				continue
			}
			tidyForPrint(v)
			kept = append(kept, k, v)
		}
		n.Content = kept
	default:
		for _, c := range n.Content {
			tidyForPrint(c)
		}
	}
}
