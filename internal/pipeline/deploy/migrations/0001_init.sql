CREATE TABLE applications (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL
);
CREATE TABLE deployment_groups (
	application TEXT NOT NULL,
	name TEXT NOT NULL,
	doc TEXT NOT NULL,
	PRIMARY KEY (application, name)
);
CREATE TABLE deployment_configs (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL
);
CREATE TABLE instances (
	name TEXT PRIMARY KEY,
	doc TEXT NOT NULL
);
CREATE TABLE deployments (
	id TEXT PRIMARY KEY,
	application TEXT NOT NULL,
	deployment_group TEXT NOT NULL,
	create_ms INTEGER NOT NULL,
	status TEXT NOT NULL,
	doc TEXT NOT NULL
);
CREATE INDEX deployments_by_group ON deployments(application, deployment_group, create_ms);
CREATE TABLE targets (
	deployment_id TEXT NOT NULL,
	instance TEXT NOT NULL,
	doc TEXT NOT NULL,
	PRIMARY KEY (deployment_id, instance)
);
