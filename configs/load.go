package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Loader reads configuration files. The zero Loader reads the process
// environment and the secret files, which is what the daemon wants.
type Loader struct {
	// LookupEnv reports an environment variable; nil means os.LookupEnv.
	// Tests set it rather than change the process environment.
	LookupEnv func(name string) (value string, ok bool)
	// SkipSecrets leaves secrets named by *_file keys unread (the secret
	// stays empty; its _file key still counts as given). It is for checking
	// a configuration away from the host it runs on, where
	// /run/secrets/... does not exist: the examples test, a CI check.
	SkipSecrets bool
}

// Load reads, expands, decodes and validates the configuration file at
// path with the zero Loader. Every problem found is returned at once as
// Errors.
func Load(path string) (*Config, error) { return Loader{}.Load(path) }

// Parse is Load for a configuration already in memory; name is used in
// messages and its folder is where relative paths are resolved.
func Parse(name string, data []byte) (*Config, error) { return Loader{}.Parse(name, data) }

// Load reads the file at path and parses it.
func (l Loader) Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		cause := err
		var pe *fs.PathError
		if errors.As(err, &pe) {
			cause = pe.Err // the path is already at the start of the message
		}
		return nil, Errors{{
			File: path,
			Msg:  fmt.Sprintf("cannot read the configuration file: %v; check the path given with --config", cause),
			Err:  err,
		}}
	}
	return l.Parse(path, data)
}

// Parse expands, decodes and validates one configuration file held in
// data. The steps, in order: YAML to a node tree (exactly one document),
// ${ENV} expansion of values, strict decoding over Default(), relative
// paths, secrets from files, Validate.
func (l Loader) Parse(name string, data []byte) (*Config, error) {
	lookup := l.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	s := &state{
		file:      name,
		lookup:    lookup,
		lines:     map[string]int{},
		expanded:  map[*yaml.Node]bool{},
		badNodes:  map[*yaml.Node]bool{},
		failed:    map[string]bool{},
		unknownIn: map[string]bool{},
	}
	root := s.parseDocument(data)
	if root == nil {
		return nil, s.errs.asError(s.dropped)
	}
	s.expandTree(root, "")

	cfg := Default()
	s.decode(root, reflect.ValueOf(cfg).Elem(), "")
	cfg.file, cfg.dir, cfg.lines = name, filepath.Dir(name), s.lines
	cfg.resolvePaths()
	if s.tooBig != nil {
		// What was decoded is incomplete; nothing more is worth saying.
		return nil, Errors{s.tooBig}
	}
	s.secrets(cfg, reflect.ValueOf(cfg).Elem(), "", !l.SkipSecrets)

	// A key that could not be read keeps its default; validating that
	// default would only add a second message about the same line.
	// Likewise a mapping holding an unknown key is usually missing the key
	// meant (fixd for fixed): what validation says about the mapping itself
	// repeats that.
	for _, e := range cfg.validate() {
		if !s.isFailed(e.Key) && !s.unknownIn[e.Key] {
			s.keep(e)
		}
	}
	if err := s.errs.asError(s.dropped); err != nil {
		return nil, err
	}
	return cfg, nil
}

// state is one run of Parse: what has been found so far.
type state struct {
	file    string
	lookup  func(string) (string, bool)
	errs    Errors
	dropped int            // problems beyond maxStoredErrors
	lines   map[string]int // key path -> line, handed to the Config

	expanded map[*yaml.Node]bool // scalars already expanded
	badNodes map[*yaml.Node]bool // scalars whose expansion failed
	failed   map[string]bool     // key paths already reported
	// unknownIn holds the mappings where an unknown key was reported.
	unknownIn map[string]bool

	steps  int    // decoding work done, see maxDecodeSteps
	tooBig *Error // set when maxDecodeSteps is reached
}

// maxStoredErrors bounds the memory spent on a file that is not a
// configuration at all; only maxErrors are shown anyway.
const maxStoredErrors = 1000

// add records a problem.
func (s *state) add(line int, key, msg string, cause error) {
	s.keep(&Error{File: s.file, Line: line, Key: key, Msg: msg, Err: cause})
}

func (s *state) keep(e *Error) {
	if len(s.errs) >= maxStoredErrors {
		s.dropped++
		return
	}
	s.errs = append(s.errs, e)
}

// fail records a problem with the value of key, which then keeps its
// default and is not validated again.
func (s *state) fail(line int, key, msg string) {
	s.add(line, key, msg, nil)
	s.failed[key] = true
}

// isFailed reports whether key, or a key above it, was already reported.
func (s *state) isFailed(key string) bool {
	for {
		if s.failed[key] {
			return true
		}
		if key == "" {
			return false
		}
		i := strings.LastIndexAny(key, ".[")
		key = key[:max(i, 0)]
	}
}

const emptyMsg = "file is empty; a configuration needs at least one program under programs:"

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument returns the top node of the single document in data, or
// nil after recording why there is none.
func (s *state) parseDocument(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			s.add(0, "", emptyMsg, nil)
		} else {
			s.syntaxError(data, err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		s.syntaxError(data, err)
		return nil
	default:
		s.add(next.Line, "", "more than one YAML document (a second --- starts here); keep one document per file", nil)
		return nil
	}
	if len(doc.Content) == 0 || doc.Content[0].ShortTag() == "!!null" {
		s.add(0, "", emptyMsg, nil)
		return nil
	}
	return doc.Content[0]
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into a located Error.
func (s *state) syntaxError(data []byte, err error) {
	line, msg := splitYAMLError(err)
	if l := problemLine(data, msg); l > 0 {
		line = l
	}
	s.add(line, "", "invalid YAML: "+msg+"; check the indentation and quoting", err)
}

func splitYAMLError(err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return line, msg
}

// problemLine finds the line of a syntax error: the first line N such that
// the file cut after line N fails with the same message. yaml.v3 reports
// the line where the enclosing block starts (and for parser errors one too
// few), so an indentation slip on line 30 of the programs list would be
// reported on the line of "programs:". Cutting a file at a line end keeps
// block YAML valid, so cuts before the problem parse and cuts after it
// fail the same way: a binary search finds the line in a few parses. A cut
// inside a quoted or flow value fails with another message and counts as
// "before". 0 when the search does not confirm a line.
func problemLine(data []byte, msg string) int {
	var ends []int // ends[i] is the offset just past line i+1
	for off := 0; off < len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			off = len(data)
		} else {
			off += i + 1
		}
		ends = append(ends, off)
	}
	fails := func(line int) bool {
		err := parseAll(data[:ends[line-1]])
		if err == nil {
			return false
		}
		_, m := splitYAMLError(err)
		return m == msg
	}
	lo, hi := 1, len(ends) // the answer is in [lo, hi] if fails(hi)
	if hi == 0 || !fails(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

func parseAll(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// resolvePaths makes relative file paths relative to the configuration
// file's folder, so the daemon finds the same files whatever its working
// directory (a service manager rarely starts it where the file is).
func (c *Config) resolvePaths() {
	c.Ledger.PathAsWritten = c.Ledger.Path
	c.Ledger.Path = c.resolve(c.Ledger.Path)
	c.Daemon.LockFile = c.resolve(c.Daemon.LockFile)
	for i := range c.Connectors {
		c.Connectors[i].Drop.Dir = c.resolve(c.Connectors[i].Drop.Dir)
	}
	for i := range c.Exports {
		c.Exports[i].Path = c.resolve(c.Exports[i].Path)
	}
	c.Server.TLS.CertFile = c.resolve(c.Server.TLS.CertFile)
	c.Server.TLS.KeyFile = c.resolve(c.Server.TLS.KeyFile)
}

// resolve returns p relative to the configuration's folder. SQLite's
// special names (":memory:", "file:" URIs) are left alone.
func (c *Config) resolve(p string) string {
	if p == "" || filepath.IsAbs(p) || p == ":memory:" || strings.HasPrefix(p, "file:") {
		return p
	}
	return filepath.Join(c.dir, p)
}
