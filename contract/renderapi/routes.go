package renderapi

import "strings"

// Route is one route of the HTTP API, as API Gateway names it.
type Route struct {
	Method string
	Path   string
	// Access says who may call the route.
	Access Access
	// Records: the route exists only where the deployment keeps render
	// records (renderTracking).
	Records bool
	// Queue: the route exists only where renders wait their turn
	// (renderQueue, which needs records).
	Queue bool
}

// Access is who may call a route.
type Access int

const (
	// Callers: anyone the API's authorizer lets in (IAM or JWT).
	Callers Access = iota
	// Operators: callers allowed the route itself (an IAM policy on its
	// ARN) or holding the JWT admin scope. Absent where neither can be
	// told (apiAuthorization=none, or jwt without jwtAdminScope).
	Operators
	// Signed: no authorizer; the body's signature is the proof (Remotion's
	// render function can hold neither SigV4 credentials nor a JWT).
	Signed
)

// Key is the route's key, as API Gateway passes it in each event.
func (r Route) Key() string { return r.Method + " " + r.Path }

// The routes.
var (
	RouteStart = Route{Method: "POST", Path: "/renders"}
	// RouteProgress reads one of the caller's renders. Where the deployment
	// keeps no records, it reads any render by its ID and ?bucket=.
	RouteProgress = Route{Method: "GET", Path: "/renders/{renderId}"}
	RouteList     = Route{Method: "GET", Path: "/renders", Records: true}
	RouteListAll  = Route{Method: "GET", Path: "/renders/all", Access: Operators, Records: true}
	// RouteProgressAny reads any caller's render, and, with ?bucket=, one
	// that has no record here (a paid call of Remotion's function).
	RouteProgressAny = Route{Method: "GET", Path: "/renders/all/{renderId}", Access: Operators, Records: true}
	// RouteCancel cancels one of the caller's renders that waits in line.
	RouteCancel = Route{Method: "DELETE", Path: "/renders/{renderId}", Records: true, Queue: true}
	// RouteQueue shows the deployment's budget, the capacity in use and the
	// line, for operators.
	RouteQueue   = Route{Method: "GET", Path: "/renders/all/queue", Access: Operators, Records: true, Queue: true}
	RouteWebhook = Route{Method: "POST", Path: "/webhooks/remotion", Access: Signed, Records: true}
)

// Routes is every route of the API: the function serves these, and the
// stack deploys those that the deployment's configuration has.
var Routes = []Route{RouteStart, RouteProgress, RouteList, RouteListAll, RouteProgressAny, RouteCancel, RouteQueue, RouteWebhook}

// Names lists routes' keys for a person: "POST /renders, GET /renders/{renderId}".
func Names(routes []Route) string {
	keys := make([]string, len(routes))
	for i, r := range routes {
		keys[i] = r.Key()
	}
	return strings.Join(keys, ", ")
}
