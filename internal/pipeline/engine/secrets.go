package engine

import (
	"maps"
	"slices"

	"github.com/artifactd/registry/internal/pipeline"
)

// Configuration values that are secrets (a provider's SecretKeys, such as
// the Webhook's Secret) never leave the engine: reads show "****" as AWS
// does for its providers' secrets, and an UpdatePipeline that sends "****"
// back keeps the stored value.

// Redacted is what reads show in place of a secret configuration value.
const Redacted = "****"

func (e *Engine) secretKeys(id pipeline.ActionTypeID) []string {
	if p, ok := e.providers[id]; ok {
		return p.Type().SecretKeys
	}
	return nil
}

// redact returns cfg with the secret values of an action type replaced.
func (e *Engine) redact(id pipeline.ActionTypeID, cfg map[string]string) map[string]string {
	keys := e.secretKeys(id)
	if len(keys) == 0 || cfg == nil {
		return cfg
	}
	out := maps.Clone(cfg)
	for _, k := range keys {
		if _, ok := out[k]; ok {
			out[k] = Redacted
		}
	}
	return out
}

// redacted returns a copy of d whose secret values are replaced.
func (e *Engine) redacted(d pipeline.Declaration) pipeline.Declaration {
	d.Stages = slices.Clone(d.Stages)
	for i := range d.Stages {
		d.Stages[i].Actions = slices.Clone(d.Stages[i].Actions)
		for j := range d.Stages[i].Actions {
			a := &d.Stages[i].Actions[j]
			a.Configuration = e.redact(a.ActionTypeID, a.Configuration)
		}
	}
	return d
}

// keepSecrets replaces "****" in d's secret values with the value the same
// action (by stage and action name) has in old.
func (e *Engine) keepSecrets(d *pipeline.Declaration, old *pipeline.Declaration) error {
	for i := range d.Stages {
		for j := range d.Stages[i].Actions {
			a := &d.Stages[i].Actions[j]
			for _, k := range e.secretKeys(a.ActionTypeID) {
				if a.Configuration[k] != Redacted {
					continue
				}
				var prev string
				if s, _ := old.Stage(d.Stages[i].Name); s != nil {
					if pa := s.Action(a.Name); pa != nil {
						prev = pa.Configuration[k]
					}
				}
				if prev == "" {
					return pipeline.Errorf(pipeline.ErrInvalidActionDeclaration, "%s.configuration.%s: %q keeps the stored secret, but action '%s' has none",
						pipeline.ActionPath(i, j), k, Redacted, a.Name)
				}
				a.Configuration = maps.Clone(a.Configuration)
				a.Configuration[k] = prev
			}
		}
	}
	return nil
}
