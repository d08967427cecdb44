package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// finalStage is what the Dockerfile's last stage sets in the image config.
// The tool builds its image from these, so the two builds cannot drift.
type finalStage struct {
	Env          []string // KEY=value
	User         string
	WorkingDir   string
	ExposedPorts []string // 5556/tcp
	Entrypoint   []string
	Cmd          []string
}

// parseFinalStage reads the last stage of a Dockerfile. It accepts only what
// the tool can reproduce: FROM scratch, one COPY of the build stage's
// /rootfs/, and ENV, USER, WORKDIR, EXPOSE, exec-form ENTRYPOINT and CMD.
func parseFinalStage(data []byte) (*finalStage, error) {
	var lines []string
	var cont strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cont.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cont.WriteString(s + " ")
			continue
		}
		cont.WriteString(l)
		lines = append(lines, cont.String())
		cont.Reset()
	}
	last := -1
	for i, l := range lines {
		if strings.EqualFold(firstWord(l), "FROM") {
			last = i
		}
	}
	if last < 0 {
		return nil, fmt.Errorf("no FROM line")
	}
	if f := strings.Fields(lines[last]); len(f) != 2 || f[1] != "scratch" {
		return nil, fmt.Errorf("the final stage must be FROM scratch, got %q", lines[last])
	}
	st := &finalStage{}
	copied := false
	for _, l := range lines[last+1:] {
		word := strings.ToUpper(firstWord(l))
		rest := strings.TrimSpace(l[len(word):])
		switch word {
		case "COPY":
			if rest != "--from=build /rootfs/ /" || copied {
				return nil, fmt.Errorf("the final stage may only COPY --from=build /rootfs/ / once, got %q", l)
			}
			copied = true
		case "ENV":
			k, v, ok := strings.Cut(rest, "=")
			if !ok || strings.ContainsAny(k, " \t") || strings.ContainsAny(v, " \t\"'$") {
				return nil, fmt.Errorf("ENV must be one KEY=value without quotes or spaces, got %q", l)
			}
			st.Env = append(st.Env, k+"="+v)
		case "USER":
			st.User = rest
		case "WORKDIR":
			st.WorkingDir = rest
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				st.ExposedPorts = append(st.ExposedPorts, p)
			}
		case "ENTRYPOINT", "CMD":
			var v []string
			if err := json.Unmarshal([]byte(rest), &v); err != nil {
				return nil, fmt.Errorf("%s must be in exec form (a JSON array): %v", word, err)
			}
			if word == "CMD" {
				st.Cmd = v
			} else {
				st.Entrypoint = v
			}
		default:
			return nil, fmt.Errorf("tools/image cannot reproduce %q in the final stage", l)
		}
	}
	if !copied {
		return nil, fmt.Errorf("the final stage does not COPY --from=build /rootfs/ /")
	}
	return st, nil
}

func firstWord(l string) string {
	if i := strings.IndexAny(l, " \t"); i >= 0 {
		return l[:i]
	}
	return l
}
