package deploy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseAppSpec(t *testing.T) {
	t.Parallel()
	good := `version: 0.0
os: linux
files:
  - source: /
    destination: /srv/app
file_exists_behavior: OVERWRITE
permissions:
  - object: /srv/app
    pattern: "*.sh"
    mode: "755"
    type: [file]
hooks:
  BeforeInstall:
    - location: scripts/before.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start.sh
      runas: root
`
	spec, err := ParseAppSpec([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Version != "0.0" || spec.Files[0].Destination != "/srv/app" || spec.Hooks["BeforeInstall"][0].Timeout != 30 ||
		spec.Hooks["ApplicationStart"][0].RunAs != "root" || spec.Permissions[0].Mode != "755" {
		t.Errorf("parsed %+v", spec)
	}
	for _, tc := range []struct{ name, doc, want string }{
		{"empty", "", "empty"},
		{"unknown key", "version: 0.0\nos: linux\nfiless: []\n", "field filess not found"},
		{"unknown nested key", "version: 0.0\nos: linux\nhooks:\n  BeforeInstall:\n    - location: a.sh\n      timeoutt: 3\n", "field timeoutt not found"},
		{"version", "version: 1.0\nos: linux\n", "version must be 0.0"},
		{"os", "version: 0.0\nos: plan9\n", "os must be linux"},
		{"behavior", "version: 0.0\nos: linux\nfile_exists_behavior: MERGE\n", "file_exists_behavior"},
		{"relative destination", "version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: srv\n", "absolute"},
		{"destination escape", "version: 0.0\nos: linux\nfiles:\n  - source: a\n    destination: /srv/../../etc\n", "must not contain .."},
		{"source escape", "version: 0.0\nos: linux\nfiles:\n  - source: ../x\n    destination: /srv\n", "leaves the bundle"},
		{"hook escape", "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: ../../bin/sh\n", "inside the bundle"},
		{"absolute hook", "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: /bin/sh\n", "inside the bundle"},
		{"reserved event", "version: 0.0\nos: linux\nhooks:\n  Install:\n    - location: a.sh\n", "hooks.Install is not"},
		{"timeout", "version: 0.0\nos: linux\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 4000\n", "timeout 4000"},
		{"mode", "version: 0.0\nos: linux\npermissions:\n  - object: /srv\n    mode: rwx\n", "octal"},
		{"not yaml", "version: [\n", "appspec:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseAppSpec([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func FuzzParseAppSpec(f *testing.F) {
	f.Add([]byte("version: 0.0\nos: linux\nfiles:\n  - source: /\n    destination: /srv\nhooks:\n  AfterInstall:\n    - location: a.sh\n      timeout: 3\n"))
	f.Add([]byte("version: 0.0\nos: linux\nfiles:\n  - source: ../x\n    destination: /srv/../y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		spec, err := ParseAppSpec(b)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		for _, m := range spec.Files {
			if !inside(m.Source) || strings.Contains("/"+m.Destination+"/", "/../") {
				t.Fatalf("accepted an escaping mapping %+v", m)
			}
		}
		for _, scripts := range spec.Hooks {
			for _, s := range scripts {
				if !inside(s.Location) || strings.HasPrefix(s.Location, "/") {
					t.Fatalf("accepted an escaping hook %q", s.Location)
				}
			}
		}
	})
}
