// Package table names the render table's keys, attributes and indexes: the
// stack creates the table with them and the function reads and writes it
// with them. It imports nothing, so that the CDK app can use it without
// linking the AWS SDK.
package table

const (
	// PartitionKey is the table's only key: "render#<renderId>" for a
	// render, "key#<caller hash>#<idempotency key>" for an idempotency key.
	PartitionKey = "pk"
	// ExpiresAt holds the epoch second after which DynamoDB deletes an item.
	ExpiresAt = "expiresAt"

	// ByCaller indexes renders by who started them, newest first.
	ByCaller = "byCaller"
	// RequestedBy is ByCaller's partition key.
	RequestedBy = "requestedBy"

	// ByTime indexes every render, newest first, for operators.
	ByTime = "byTime"
	// Kind is ByTime's partition key: "render" on every render, absent
	// elsewhere, so that idempotency keys stay out of the index.
	Kind = "kind"

	// CreatedAt (RFC 3339, UTC, fixed width) sorts both indexes.
	CreatedAt = "createdAt"
)
