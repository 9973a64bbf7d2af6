package config

import (
	"slices"
	"strings"
)

// envKeys turns a key path into its variable's spelling, as viper does: DISCOH_POOLS_MY_POOL_LISTEN
// for pools.my-pool.listen.
var envKeys = strings.NewReplacer(".", "_", "-", "_")

// envVar is the environment variable that overrides the key path key.
func envVar(key string) string {
	return envKeys.Replace(strings.ToUpper(envPrefix + "_" + key))
}

// checkEnv reports every non-empty DISCOH_ variable that names no key it could override, as an
// unknown key in the file is reported: a misspelt pool or key would otherwise be ignored without
// a word. Empty variables are ignored, as they are when they name a key.
func checkEnv(environ, poolNames []string, ps *problems) {
	known := envVars(poolNames)
	var unknown []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, envPrefix+"_") && value != "" && !known[name] {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		ps.add(name, "%s", envProblem(name, poolNames))
	}
}

// envVars lists every variable that overrides a key, for the pools named in the file.
func envVars(poolNames []string) map[string]bool {
	known := map[string]bool{}
	for _, name := range poolNames {
		for _, f := range poolFields {
			known[envVar(poolKey(name, f.name))] = true
		}
	}
	for _, k := range adminKeys {
		known[envVar(sectionAdmin+"."+k)] = true
	}
	for _, k := range logKeys {
		known[envVar(sectionLog+"."+k)] = true
	}
	known[envVar(keyMaxMemory)] = true
	return known
}

// envProblem says what is wrong with the unknown variable name.
func envProblem(name string, poolNames []string) string {
	section, _, _ := strings.Cut(strings.TrimPrefix(name, envPrefix+"_"), "_")
	switch strings.ToLower(section) {
	case sectionPools:
		for _, pool := range poolNames {
			if strings.HasPrefix(name, envVar(sectionPools+"."+pool)+"_") {
				return "unknown key of pool " + pool
			}
		}
		return "names no pool of the file (" + strings.Join(poolNames, ", ") + ")"
	case sectionDatabases, sectionCoherence:
		return "the " + strings.ToLower(section) + " section is read from the file only"
	case sectionAdmin, sectionLog:
		return "unknown key"
	}
	return "unknown section (want " + envPrefix + "_POOLS_<POOL>_<KEY>, " + envPrefix + "_LOG_<KEY> or " +
		envPrefix + "_ADMIN_<KEY>)"
}
