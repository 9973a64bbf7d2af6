package config

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// Load reads the YAML file at path, applies DISCOH_... environment
// overrides and defaults, and validates the result. Every problem found is
// reported, each naming its field, and matches ErrInvalid.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.Path = path
	return c, nil
}

// Parse is Load for a file's contents; the environment applies too, and a
// DISCOH_ variable that names no pool or key of the file is a problem.
// Problems with the file's shape and with single values are reported
// first, all of them; checks across fields (Validate) run once those pass.
func Parse(data []byte) (*Config, error) {
	var raw map[string]any
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, &syntaxError{err}
	}
	doc, ps := arrange(raw)
	names := doc.sortedNames() // before newViper rewrites doc's keys
	checkEnv(os.Environ(), names, &ps)
	v, err := newViper(doc)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := decode(v, names, &ps)
	decodeCoherence(raw, c, &ps)
	if len(ps) > 0 {
		return nil, ps.join()
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}
