package cli

import "strings"

// listedCommands returns the command names `tenantwatch help` lists, in
// order.
func listedCommands(help string) []string {
	var names []string
	for line := range strings.Lines(help) {
		if rest, ok := strings.CutPrefix(line, "  "); ok && rest != "" && rest[0] != ' ' {
			names = append(names, strings.Fields(rest)[0])
		}
	}
	return names
}
