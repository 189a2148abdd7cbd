package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// upload is UPLOAD_ARTIFACTS: test reports, artifact zips into the blob
// store, and (after a successful build) the project cache.
func (r *run) upload() (Status, []PhaseContext) {
	if r.spec == nil {
		return StatusSucceeded, nil
	}
	r.reports()
	st, cs := r.artifacts()
	if cfg := r.b.Config; cfg.Cache.enabled() && len(r.spec.Cache.Paths) > 0 && r.spec.Cache.Action != "restore" {
		if r.succeeding && st == StatusSucceeded {
			mu := r.s.cacheLock(cfg.Name)
			mu.Lock()
			n, err := saveCache(r.s.cacheDir(cfg.Name), r.src, r.spec.Cache.Paths)
			mu.Unlock()
			if err != nil {
				r.log.Line("Saving the cache failed: %v", err)
			} else {
				r.log.Line("Saved %d files to the project cache", n)
			}
		} else {
			r.log.Line("The cache is kept from the last successful build; this build did not succeed")
		}
	}
	return st, cs
}

// wantedArtifact is an artifact to produce: its identifier and the
// buildspec files that make it.
type wantedArtifact struct {
	identifier, name string
	set              *SpecArtifactSet
}

// wanted returns the artifacts this build must produce: the pipeline's
// outputs when it was given some, else the project's artifacts.
func (r *run) wanted() ([]wantedArtifact, error) {
	spec := r.spec.Artifacts
	secondary := func(id string) *SpecArtifactSet {
		if spec == nil {
			return nil
		}
		for i := range spec.Secondary {
			if spec.Secondary[i].Identifier == id {
				return &spec.Secondary[i]
			}
		}
		return nil
	}
	var out []wantedArtifact
	if outs := r.b.Request.OutputArtifacts; len(outs) > 0 {
		if spec == nil {
			return nil, fmt.Errorf("the pipeline expects output artifacts %s but the buildspec has no artifacts section", strings.Join(outs, ", "))
		}
		for i, name := range outs {
			set := &spec.SpecArtifactSet
			if i > 0 || len(spec.Files) == 0 {
				if set = secondary(name); set == nil {
					return nil, fmt.Errorf("the buildspec has no secondary-artifacts entry %s for the output artifact of that name", name)
				}
			}
			out = append(out, wantedArtifact{identifier: name, name: name, set: set})
		}
		return out, nil
	}
	cfg := r.b.Config
	if cfg.Artifacts.Type == ArtifactsNone || spec == nil {
		return nil, nil
	}
	if len(spec.Files) > 0 {
		out = append(out, wantedArtifact{identifier: cfg.Artifacts.ArtifactIdentifier, name: cfg.Artifacts.Name, set: &spec.SpecArtifactSet})
	}
	for _, a := range cfg.SecondaryArtifacts {
		set := secondary(a.ArtifactIdentifier)
		if set == nil {
			return nil, fmt.Errorf("the project's secondary artifact %s has no secondary-artifacts entry in the buildspec", a.ArtifactIdentifier)
		}
		out = append(out, wantedArtifact{identifier: a.ArtifactIdentifier, name: a.Name, set: set})
	}
	return out, nil
}

func (r *run) artifacts() (Status, []PhaseContext) {
	wanted, err := r.wanted()
	if err != nil {
		return failed("CLIENT_ERROR", "%v", err)
	}
	var primary *OutputArtifact
	var secondary []OutputArtifact
	for i, w := range wanted {
		if r.ctx.Err() != nil {
			return r.interrupted()
		}
		files, err := collect(r.src, *w.set)
		if err != nil {
			return failed("CLIENT_ERROR", "artifact %s: %v", w.identifier, err)
		}
		if len(files) == 0 {
			return failed("CLIENT_ERROR", "%v for artifact %s (files %s)", errNoArtifacts, orPrimary(w.identifier), strings.Join(w.set.Files, ", "))
		}
		name := w.name
		if w.set.Name != "" {
			name = r.evalName(w.set.Name)
		}
		a, err := r.storeZip(files, w.set.EnableSymlinks)
		if err != nil {
			return failed("CLIENT_ERROR", "artifact %s: %v", orPrimary(w.identifier), err)
		}
		a.Identifier, a.Name = w.identifier, name
		r.log.Line("Uploaded artifact %s: %d files, %d bytes, sha256 %s", orPrimary(w.identifier), len(files), a.Size, a.Digest)
		if i == 0 && w.set.Identifier == "" {
			primary = &a
		} else {
			secondary = append(secondary, a)
		}
	}
	r.update(func(b *Build) { b.Artifacts, b.SecondaryArtifacts = primary, secondary })
	return StatusSucceeded, nil
}

func orPrimary(id string) string {
	if id == "" {
		return PrimaryArtifact
	}
	return id
}

// evalName expands an artifact name in the shell, as CodeBuild does
// ("app-$(date +%Y%m%d)"); without a live shell it is used as written.
func (r *run) evalName(name string) string {
	if r.sh == nil || r.ctx.Err() != nil {
		return name
	}
	path := filepath.Join(r.ctl, "artifact-name")
	quoted := `"` + strings.ReplaceAll(strings.ReplaceAll(name, `\`, `\\`), `"`, `\"`) + `"`
	if _, err := r.sh.run(r.ctx, "printf '%s' "+quoted+" > "+shellQuote(path)); err != nil {
		return name
	}
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return name
	}
	return string(b)
}

// storeZip zips files into the blob store.
func (r *run) storeZip(files []fileEntry, keepLinks bool) (OutputArtifact, error) {
	if r.s.cfg.Blobs == nil {
		return OutputArtifact{}, fmt.Errorf("no blob store is configured")
	}
	tmp, err := os.CreateTemp(r.work, "artifact-*.zip")
	if err != nil {
		return OutputArtifact{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := writeZip(tmp, files, keepLinks); err != nil {
		return OutputArtifact{}, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return OutputArtifact{}, err
	}
	put, err := r.s.cfg.Blobs.Put(r.ctx, tmp, "")
	if err != nil {
		return OutputArtifact{}, err
	}
	return OutputArtifact{Digest: put.Hashes.SHA256, MD5: put.Hashes.MD5, Size: put.Size}, nil
}

// reports parses the buildspec's report groups into Reports.
func (r *run) reports() {
	var reports []Report
	for _, rs := range r.spec.Reports {
		group := r.b.Project + "-" + rs.Name
		rep := Report{ARN: "arn:aws:codebuild:" + r.s.cfg.Region + ":" + r.s.cfg.Account + ":report/" + group + ":" + newUUID(),
			GroupARN: "arn:aws:codebuild:" + r.s.cfg.Region + ":" + r.s.cfg.Account + ":report-group/" + group,
			Name:     group, FileFormat: rs.FileFormat, Created: r.s.now().UTC()}
		files, err := collect(r.src, SpecArtifactSet{Files: rs.Files, BaseDirectory: rs.BaseDirectory})
		if err != nil || len(files) == 0 {
			r.log.Line("Report group %s: no report files found (%s)", rs.Name, strings.Join(rs.Files, ", "))
			continue
		}
		var total junitResult
		for _, f := range files {
			fh, err := os.Open(f.abs)
			if err != nil {
				rep.Message = err.Error()
				continue
			}
			res, err := parseJUnit(fh)
			fh.Close()
			if err != nil {
				rep.Message = fmt.Sprintf("%s: %v", f.name, err)
				continue
			}
			total.add(res)
		}
		rep.Counts, rep.Total, rep.Duration = total.Counts, total.Total, total.Duration
		if rep.Counts == nil {
			rep.Counts = map[string]int{}
		}
		switch {
		case rep.Message != "":
			rep.Status = "INCOMPLETE"
		case rep.Counts[TestFailed]+rep.Counts[TestError] > 0:
			rep.Status = "FAILED"
		default:
			rep.Status = "SUCCEEDED"
		}
		r.log.Line("Report group %s: %d tests, %d succeeded, %d failed, %d errors, %d skipped (%s)", rs.Name, rep.Total,
			rep.Counts[TestSucceeded], rep.Counts[TestFailed], rep.Counts[TestError], rep.Counts[TestSkipped], rep.Status)
		reports = append(reports, rep)
	}
	if reports != nil {
		r.update(func(b *Build) { b.Reports = reports })
	}
}
