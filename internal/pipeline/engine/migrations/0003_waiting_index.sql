-- The executions waiting before a stage, which every scheduling round of
-- a PARALLEL pipeline looks at without reading its other active
-- executions (schedule.go, loadMovableExecs).
CREATE INDEX executions_waiting ON executions(pipeline, seq) WHERE waiting = 1 AND status IN ('InProgress', 'Stopping');
