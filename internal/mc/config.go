package mc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/idemcheck/idemcheck/spec"
)

// Config is a model to check: the spec's constants and what to check,
// read from a TLC .cfg file.
type Config struct {
	// Name is the file the config came from (for reports), if any.
	Name string
	// Spec holds the constants.
	Spec spec.Config
	// Invariants are the invariant names to check, in the file's order.
	Invariants []string
	// Properties are the temporal properties to check (only
	// EveryCallReturns is known).
	Properties []string
}

// constant describes one CONSTANT of Broker.tla and where it goes.
type constant struct {
	set  func(c *spec.Config, v value) error
	kind string // "int", "bool" or "string"
}

type value struct {
	s string
	i int
	b bool
}

func constants() map[string]constant {
	intc := func(f func(c *spec.Config) *int) constant {
		return constant{kind: "int", set: func(c *spec.Config, v value) error { *f(c) = v.i; return nil }}
	}
	boolc := func(f func(c *spec.Config) *bool) constant {
		return constant{kind: "bool", set: func(c *spec.Config, v value) error { *f(c) = v.b; return nil }}
	}
	strc := func(f func(c *spec.Config) *string) constant {
		return constant{kind: "string", set: func(c *spec.Config, v value) error { *f(c) = v.s; return nil }}
	}
	return map[string]constant{
		"TicketOrder":    {kind: "string", set: func(c *spec.Config, v value) error { c.TicketOrder = spec.TicketOrder(v.s); return nil }},
		"Producers":      intc(func(c *spec.Config) *int { return &c.Producers }),
		"Batches":        intc(func(c *spec.Config) *int { return &c.Batches }),
		"KnownProducers": boolc(func(c *spec.Config) *bool { return &c.KnownProducers }),
		"StageFailure":   boolc(func(c *spec.Config) *bool { return &c.StageFailure }),
		"UploadFailure":  boolc(func(c *spec.Config) *bool { return &c.UploadFailure }),
		"FenceFailure":   boolc(func(c *spec.Config) *bool { return &c.FenceFailure }),
		"ClientTimeout":  boolc(func(c *spec.Config) *bool { return &c.ClientTimeout }),
		"MaxRetries":     intc(func(c *spec.Config) *int { return &c.MaxRetries }),
		"MaxEvictions":   intc(func(c *spec.Config) *int { return &c.MaxEvictions }),
		"MaxEpochBumps":  intc(func(c *spec.Config) *int { return &c.MaxEpochBumps }),
		"MaxTermChanges": intc(func(c *spec.Config) *int { return &c.MaxTermChanges }),
		"Window":         intc(func(c *spec.Config) *int { return &c.Window }),
		"Bug":            strc(func(c *spec.Config) *string { return &c.Bug }),
		"AwaitEnqueued":  boolc(func(c *spec.Config) *bool { return &c.AwaitEnqueued }),
		"MaxSeq":         intc(func(c *spec.Config) *int { return &c.MaxSeq }),
		"OldEpochRetry":  boolc(func(c *spec.Config) *bool { return &c.OldEpochRetry }),
		"RedeemAbort":    boolc(func(c *spec.Config) *bool { return &c.RedeemAbort }),
		"TieredPath":     boolc(func(c *spec.Config) *bool { return &c.TieredPath }),
	}
}

// ConstantNames lists the CONSTANTS every .cfg must assign, sorted.
func ConstantNames() []string {
	var out []string
	for n := range constants() {
		out = append(out, n)
	}
	sortStrings(out)
	return out
}

// LoadConfig reads a TLC model config (.cfg). It understands the subset
// the project's configs use: CONSTANT(S) with "Name = literal" (or
// "Name <- literal"), INVARIANT(S), PROPERTY(IES), SPECIFICATION Spec,
// INIT Init, NEXT Next and CHECK_DEADLOCK FALSE, with \* and (* *)
// comments. Anything else is refused with file:line.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("mc: %w", err)
	}
	cfg, err := ParseConfig(string(data), path)
	if err != nil {
		return Config{}, err
	}
	cfg.Name = filepath.Base(path)
	return cfg, nil
}

// ParseConfig parses the text of a .cfg file; name is used in errors.
func ParseConfig(text, name string) (Config, error) {
	toks, err := tokenize(text, name)
	if err != nil {
		return Config{}, err
	}
	known := constants()
	var cfg Config
	set := map[string]bool{}
	section := ""
	errAt := func(line int, format string, args ...any) error {
		return fmt.Errorf("mc: %s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.s {
		case "CONSTANT", "CONSTANTS", "INVARIANT", "INVARIANTS", "PROPERTY", "PROPERTIES":
			section = map[string]string{"CONSTANT": "CONSTANT", "CONSTANTS": "CONSTANT",
				"INVARIANT": "INVARIANT", "INVARIANTS": "INVARIANT",
				"PROPERTY": "PROPERTY", "PROPERTIES": "PROPERTY"}[t.s]
			continue
		case "SPECIFICATION", "INIT", "NEXT":
			want := map[string]string{"SPECIFICATION": "Spec", "INIT": "Init", "NEXT": "Next"}[t.s]
			if i+1 >= len(toks) || toks[i+1].s != want {
				return Config{}, errAt(t.line, "%s must name %s (the checker has one Init and Next: Broker.tla's)", t.s, want)
			}
			i++
			section = ""
			continue
		case "CHECK_DEADLOCK":
			if i+1 >= len(toks) || toks[i+1].s != "FALSE" {
				return Config{}, errAt(t.line, "only CHECK_DEADLOCK FALSE is supported (terminal states are not deadlocks in this model)")
			}
			i++
			section = ""
			continue
		case "SYMMETRY", "VIEW", "CONSTRAINT", "CONSTRAINTS", "ACTION_CONSTRAINT", "ACTION_CONSTRAINTS", "ALIAS", "POSTCONDITION":
			return Config{}, errAt(t.line, "%s is not supported by the Go model checker", t.s)
		}
		switch section {
		case "CONSTANT":
			if i+2 >= len(toks) || (toks[i+1].s != "=" && toks[i+1].s != "<-") {
				return Config{}, errAt(t.line, "expected \"%s = value\"", t.s)
			}
			c, ok := known[t.s]
			if !ok {
				return Config{}, errAt(t.line, "unknown constant %q (known: %s)", t.s, strings.Join(ConstantNames(), ", "))
			}
			v, err := parseValue(toks[i+2], c.kind)
			if err != nil {
				return Config{}, errAt(toks[i+2].line, "constant %s: %v", t.s, err)
			}
			if set[t.s] {
				return Config{}, errAt(t.line, "constant %s assigned twice", t.s)
			}
			set[t.s] = true
			c.set(&cfg.Spec, v)
			i += 2
		case "INVARIANT":
			if !knownInvariant(t.s) {
				return Config{}, errAt(t.line, "unknown invariant %q", t.s)
			}
			cfg.Invariants = append(cfg.Invariants, t.s)
		case "PROPERTY":
			if t.s != spec.EveryCallReturns {
				return Config{}, errAt(t.line, "unknown property %q (the checker knows %s)", t.s, spec.EveryCallReturns)
			}
			cfg.Properties = append(cfg.Properties, t.s)
		default:
			return Config{}, errAt(t.line, "unexpected %q outside a section", t.s)
		}
	}
	for _, n := range ConstantNames() {
		if !set[n] {
			return Config{}, fmt.Errorf("mc: %s: constant %s is not assigned (TLC needs every constant)", name, n)
		}
	}
	if err := cfg.Spec.Validate(); err != nil {
		return Config{}, fmt.Errorf("mc: %s: %w", name, err)
	}
	return cfg, nil
}

func knownInvariant(n string) bool {
	for _, iv := range spec.Invariants() {
		if iv.Name == n {
			return true
		}
	}
	return false
}

type token struct {
	s      string
	line   int
	quoted bool
}

func tokenize(text, name string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case strings.HasPrefix(text[i:], `\*`):
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case strings.HasPrefix(text[i:], "(*"):
			start := line
			end := strings.Index(text[i:], "*)")
			if end < 0 {
				return nil, fmt.Errorf("mc: %s:%d: unterminated (* comment", name, start)
			}
			line += strings.Count(text[i:i+end], "\n")
			i += end + 2
		case strings.HasPrefix(text[i:], "<-"):
			toks = append(toks, token{s: "<-", line: line})
			i += 2
		case c == '=':
			toks = append(toks, token{s: "=", line: line})
			i++
		case c == '"':
			end := strings.IndexAny(text[i+1:], "\"\n")
			if end < 0 || text[i+1+end] != '"' {
				return nil, fmt.Errorf("mc: %s:%d: unterminated string", name, line)
			}
			toks = append(toks, token{s: text[i+1 : i+1+end], line: line, quoted: true})
			i += end + 2
		case isWord(c):
			j := i
			for j < len(text) && isWord(text[j]) {
				j++
			}
			toks = append(toks, token{s: text[i:j], line: line})
			i = j
		default:
			return nil, fmt.Errorf("mc: %s:%d: unexpected character %q (the checker reads literals only)", name, line, c)
		}
	}
	return toks, nil
}

func isWord(c byte) bool {
	return c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func parseValue(t token, kind string) (value, error) {
	switch kind {
	case "string":
		if !t.quoted {
			return value{}, fmt.Errorf("expected a string literal, got %s", t.s)
		}
		return value{s: t.s}, nil
	case "bool":
		switch {
		case t.s == "TRUE" && !t.quoted:
			return value{b: true}, nil
		case t.s == "FALSE" && !t.quoted:
			return value{}, nil
		}
		return value{}, fmt.Errorf("expected TRUE or FALSE, got %s", t.s)
	}
	n, err := strconv.Atoi(t.s)
	if err != nil || t.quoted {
		return value{}, fmt.Errorf("expected a natural number, got %s", t.s)
	}
	return value{i: n}, nil
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
