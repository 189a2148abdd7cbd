// Package secrets is the registry's own secret store and the two AWS wire
// protocols that fill it: the SSM Parameter Store subset (X-Amz-Target
// AmazonSSM.PutParameter, GetParameter, GetParameters, DeleteParameter;
// String, StringList and SecureString) and the Secrets Manager subset
// (secretsmanager.CreateSecret, PutSecretValue, GetSecretValue,
// DeleteSecret, ListSecrets), both JSON 1.1 as the botocore models
// ssm 2014-11-06 and secretsmanager 2017-10-17 spell them.
//
// On disk (inside the data directory):
//
//	secrets.key   32 random bytes, hex; created once, mode 0600
//	secrets.db    SQLite (WAL): parameters, secrets, secret_versions
//
// Every value is sealed with AES-256-GCM under secrets.key before it is
// written; the additional data binds a ciphertext to its row (parameter
// name and type, secret ARN and version id), so a ciphertext copied to
// another row does not open. Plaintext never reaches the database file,
// its WAL, or a log line.
//
// Builds read values through Store.ParameterValue and Store.SecretString.
// The package imports internal/domain (error kinds), internal/server
// (AWS error codes and the caller of a request) and the SQLite driver.
package secrets
