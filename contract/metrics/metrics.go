// Package metrics names the CloudWatch metrics the trigger function writes:
// the function writes them in its logs (Embedded Metric Format), the stack
// alarms on them, and both use these names. It depends on nothing, so that
// the CDK app can import it without linking the function's dependencies.
package metrics

const (
	// Namespace holds every metric the function writes.
	Namespace = "RemotionRender"
	// DimensionFunctionName is the one dimension of every metric: the
	// trigger function's name, so that two deployments in one account and
	// region count apart.
	DimensionFunctionName = "FunctionName"
	// Panics counts the requests whose handling panicked and was recovered
	// into a 500; its unit is Count.
	Panics = "Panics"

	// The queue's metrics, written as the line changes, at no extra call.
	// QueueDepth is how many renders wait (Count); CapacityInUse the Lambda
	// executions the deployment's renders hold (Count), of Budget (Count).
	QueueDepth    = "QueueDepth"
	CapacityInUse = "CapacityInUse"
	Budget        = "Budget"
	// WaitTime is how long a render waited in line before it was admitted
	// (Milliseconds).
	WaitTime = "WaitTime"
	// Throttles counts the starts Lambda throttled, each returned to the
	// head of the line (Count).
	Throttles = "Throttles"

	// Each finished render writes Renders (1, Count), RenderCost (what
	// Remotion estimated it cost, in USD, unit None) and RenderDuration
	// (from its start to its end, Milliseconds), by the function's name
	// and DimensionOutcome, and by DimensionCaller where the caller is not
	// anonymous.
	Renders          = "Renders"
	RenderCost       = "RenderCost"
	RenderDuration   = "RenderDuration"
	DimensionOutcome = "Outcome"
	DimensionCaller  = "Caller"
)
