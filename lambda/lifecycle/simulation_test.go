package lifecycle

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/middleware"

	"remotion-lambda-iam/internal/dynalite"
	"remotion-lambda-iam/internal/logbuf"
	"remotion-lambda-iam/internal/standin"
	"remotion-lambda-iam/internal/vectors"
	"remotion-lambda-iam/lambda/budget"
	"remotion-lambda-iam/lambda/env"
	"remotion-lambda-iam/lambda/eventbus"
	"remotion-lambda-iam/lambda/records"
	"remotion-lambda-iam/lambda/remotion"
	"remotion-lambda-iam/lambda/remotion/render"
	"remotion-lambda-iam/lambda/secret"
)

func TestMain(m *testing.M) {
	code := m.Run()
	dynalite.StopShared()
	os.Exit(code)
}

// The simulation's deployment and account.
const (
	simRenders   = 300
	simBursts    = 6 // of simRenders/simBursts starts each, all at once
	simBurstGap  = 400 * time.Millisecond
	simBudget    = 40 // the deployment's budget: 90% of the account's limit
	simLimit     = 44 // the account's concurrency limit
	simInstances = 3  // trigger function instances, on one table
	simLoss      = 0.10
	simMinRender = 50 * time.Millisecond
	simMaxRender = 300 * time.Millisecond
	simSweep     = 100 * time.Millisecond
	// The burst from which on a start request dies, between reservation and
	// invoke: mid-simulation, when the line is long.
	simCrashBurst = 2

	simFunction   = "remotion-render-4-0-527-mem2048mb-disk2048mb-120sec"
	simBucket     = "remotionlambda-useast1-abcdefghij"
	simServeURL   = "https://remotionlambda-useast1-abcdefghij.s3.us-east-1.amazonaws.com/sites/my-site/index.html"
	simSecretARN  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:webhook-AbCdEf"
	simWebhookURL = "https://renders.example.com/webhooks/remotion"
)

// The queue's real-time thresholds, small so that the sweeper acts within
// the test. The lease is how long a request may live after it admitted a
// render: in production the function's timeout, which no request outlives.
// Here it must stay above the slowest request of a loaded machine, which
// the test reports; the race detector slows requests several times over.
var simQueue = Queue{
	Budget:        budget.Fixed(simBudget),
	MaxQueued:     1000,
	RenderTimeout: 300 * time.Millisecond,
	WebhookGrace:  300 * time.Millisecond,
	Lease:         map[bool]time.Duration{false: 4 * time.Second, true: 10 * time.Second}[raceEnabled],
}

// simDeadline bounds the wait for every render to end.
var simDeadline = map[bool]time.Duration{false: 60 * time.Second, true: 150 * time.Second}[raceEnabled]

// 300 starts arrive in six bursts of 50, spread over three instances of
// the trigger function sharing one table, against a simulated account
// whose concurrency limit is a little above the deployment's budget. Each
// render runs 50–300 ms, then the account sends its signed webhook; one in
// ten webhooks is lost, and the sweeper must poll those renders. Once, a
// start request dies between admitting a render and invoking it; the
// sweeper must put that render back at the head of the line after the
// lease, and it must start then, once.
//
// The line's every write is observed in the order DynamoDB applied it (see
// lineHistory), so that the budget and the queue order are checked on every
// state the line went through, not only on samples.
func TestThreeHundredRendersInBurstsNeverOverrunTheBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("a simulation of 300 renders in real time")
	}
	began := time.Now()
	sim := newSimulation(t)

	// The start requests: bursts of concurrent starts, distinct callers.
	var requests sync.WaitGroup
	perBurst := simRenders / simBursts
	for b := range simBursts {
		sim.burst.Store(int64(b))
		for i := range perBurst {
			n := b*perBurst + i
			requests.Add(1)
			go func() {
				defer requests.Done()
				sim.start(n)
			}()
		}
		if b < simBursts-1 {
			time.Sleep(simBurstGap)
		}
	}

	// The sweeper, on the instances in turn, and a reader of the line.
	stop := make(chan struct{})
	var background sync.WaitGroup
	background.Add(2)
	go func() {
		defer background.Done()
		sim.sweeper(stop)
	}()
	go func() {
		defer background.Done()
		sim.sampler(stop)
	}()

	requests.Wait()
	all, waited := sim.waitFinal(began.Add(simDeadline))
	close(stop)
	background.Wait()
	sim.deliveries.Wait() // webhooks under way, and the dispatches they run
	elapsed := time.Since(began)

	sim.check(all, waited, elapsed)
}

// simulation is the deployment, the account and what was seen of both.
type simulation struct {
	t         *testing.T
	seed      uint64
	rng       *lockedRand
	srv       *standin.Server
	instances []*Service
	store     *records.Store // the test's own reads
	history   *lineHistory
	account   *account
	logs      *logbuf.Buffer
	done      json.RawMessage // Remotion's progress of a render that is done
	running   json.RawMessage // and of one in progress

	deliveries sync.WaitGroup // webhooks the account is to send
	turn       atomic.Int64   // which instance takes the next call
	burst      atomic.Int64   // the burst under way
	began      time.Time

	mu         sync.Mutex
	started    map[int]*Started // start request → its answer
	startTook  []time.Duration
	startErrs  []string
	crashed    string // the render whose start request died
	crashedAt  time.Time
	crashWhere string
	panics     int
	sweeps     int
	sweepErrs  []string
	samples    int
	sampledMax int
	overBudget []string // samples of the line over the budget
	problems   []string // what the account saw that it should not have
}

func newSimulation(t *testing.T) *simulation {
	seed := uint64(time.Now().UnixNano())
	sim := &simulation{
		t:       t,
		began:   time.Now(),
		seed:    seed,
		rng:     &lockedRand{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))},
		history: &lineHistory{states: map[int]observed{}, tried: map[string]int{}, refused: map[string]int{}, changed: map[string]time.Time{}},
		logs:    &logbuf.Buffer{},
		started: map[int]*Started{},
		done:    vectors.Read(t, "progress-done.json"),
		running: vectors.Read(t, "progress-inProgress.json"),
	}
	t.Logf("seed %d", seed)
	sim.account = &account{sim: sim, limit: simLimit, renders: map[string]*simRender{}, starts: map[string]int{}, startedAt: map[string]time.Time{}}
	sim.srv = standin.Start(sim.account.respond)
	t.Cleanup(sim.srv.Close)
	sim.srv.SetSecret(simSecretARN, vectors.ReadWebhooks(t).Secret)

	db := dynalite.Shared(t)
	table := db.NewRenderTable(t)
	sim.store = records.New(db.Client(), table, 90*24*time.Hour)
	log := slog.New(slog.NewJSONHandler(sim.logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for range simInstances {
		// Each instance has its clients, as a function instance would; they
		// share the table, the account and the secret.
		client, err := remotion.New(sim.srv.AWSConfig(), remotion.Config{FunctionName: simFunction, Region: standin.Region})
		if err != nil {
			t.Fatal(err)
		}
		queue := simQueue
		sim.instances = append(sim.instances, New(client, Config{
			Records:       records.New(dynamodb.NewFromConfig(db.AWSConfig(), sim.history.instrument), table, 90*24*time.Hour),
			WebhookSecret: secret.New(secretsmanager.NewFromConfig(sim.srv.AWSConfig()), simSecretARN),
			Events:        eventbus.New(eventbridge.NewFromConfig(sim.srv.AWSConfig()), ""),
			Queue:         &queue,
		}, log))
	}

	// The request that dies: the first start request of burst
	// simCrashBurst or later that admits a render dies there, between the
	// reservation and the invoke. Only a start request's dispatch is killed
	// (the stack says whose dispatch it is), as the request that dies is a
	// start.
	var once sync.Once
	launchHook = func(renderID string) {
		if sim.burst.Load() < simCrashBurst || !inStartRequest() {
			return
		}
		once.Do(func() {
			sim.mu.Lock()
			sim.crashed, sim.crashedAt = renderID, time.Now()
			sim.mu.Unlock()
			panic(killed{renderID})
		})
	}
	t.Cleanup(func() { launchHook = nil })
	return sim
}

// killed is the panic that kills a request.
type killed struct{ renderID string }

// inStartRequest reports whether the caller runs inside a start request.
func inStartRequest() bool {
	buf := make([]byte, 64<<10)
	return bytes.Contains(buf[:runtime.Stack(buf, false)], []byte("lifecycle.(*Service).startQueued"))
}

// survive runs a request, and takes its death, the one the test causes, as
// the end of that request.
func (sim *simulation) survive(where string, request func()) {
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(killed); !ok {
				panic(v)
			}
			sim.mu.Lock()
			sim.panics++
			sim.crashWhere = where
			sim.mu.Unlock()
		}
	}()
	request()
}

// instance is the function instance that takes the next call.
func (sim *simulation) instance() *Service {
	return sim.instances[int(sim.turn.Add(1))%len(sim.instances)]
}

// caller is the caller of start request n.
func caller(n int) string { return fmt.Sprintf("arn:aws:iam::123456789012:user/sim-%03d", n) }

// start sends start request n: a render of concurrency 1..10.
func (sim *simulation) start(n int) {
	concurrency := 1 + sim.rng.IntN(10)
	req := StartRequest{
		Caller:    caller(n),
		RequestID: fmt.Sprintf("req-%03d", n),
		Options: &render.Options{
			Composition: "MyComp",
			ServeURL:    simServeURL,
			Concurrency: &concurrency,
		},
		WebhookURL: simWebhookURL,
	}
	sim.survive("start", func() {
		ctx, cancel := context.WithTimeout(context.Background(), env.FunctionTimeout)
		defer cancel()
		began := time.Now()
		st, err := sim.instance().Start(ctx, req)
		sim.mu.Lock()
		defer sim.mu.Unlock()
		sim.startTook = append(sim.startTook, time.Since(began))
		if err != nil {
			sim.startErrs = append(sim.startErrs, fmt.Sprintf("start %d: %v", n, err))
			return
		}
		sim.started[n] = st
	})
}

// sweeper runs the sweeper every simSweep until stop.
func (sim *simulation) sweeper(stop <-chan struct{}) {
	tick := time.NewTicker(simSweep)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		sim.survive("sweep", func() {
			ctx, cancel := context.WithTimeout(context.Background(), env.FunctionTimeout)
			defer cancel()
			err := sim.instance().Sweep(ctx)
			sim.mu.Lock()
			defer sim.mu.Unlock()
			sim.sweeps++
			if err != nil {
				sim.sweepErrs = append(sim.sweepErrs, err.Error())
			}
		})
	}
}

// sampler reads the line as an operator's dashboard would, often, until
// stop.
func (sim *simulation) sampler(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		l, err := sim.store.ReadLine(context.Background())
		if err != nil {
			continue
		}
		held := 0
		for _, h := range l.Holds {
			held += h.Footprint
		}
		sim.mu.Lock()
		sim.samples++
		sim.sampledMax = max(sim.sampledMax, l.InUse)
		if l.InUse > simBudget || l.InUse != held || l.InUse < 0 {
			sim.overBudget = append(sim.overBudget, fmt.Sprintf("in use %d, held %d, budget %d", l.InUse, held, simBudget))
		}
		sim.mu.Unlock()
	}
}

// waitFinal waits until the table holds simRenders renders, all over, or
// until deadline. It returns the records, and whether they all ended. It
// lists the records once the account launched every render and the line
// is empty with nothing held, or at the deadline.
func (sim *simulation) waitFinal(deadline time.Time) ([]records.Render, bool) {
	for {
		sim.account.mu.Lock()
		launched := len(sim.account.startOrder)
		sim.account.mu.Unlock()
		l, err := sim.store.ReadLine(context.Background())
		if (err != nil || launched < simRenders || len(l.Queue) > 0 || len(l.Holds) > 0) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		all, err := sim.list()
		final := 0
		for _, r := range all {
			if r.State.Final() {
				final++
			}
		}
		if err == nil && len(all) == simRenders && final == simRenders {
			return all, true
		}
		if time.Now().After(deadline) {
			return all, false
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// list reads every render's record.
func (sim *simulation) list() ([]records.Render, error) {
	var all []records.Render
	cursor := ""
	for {
		page, next, err := sim.store.List(context.Background(), "", 100, cursor)
		if err != nil {
			return all, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		cursor = next
	}
}

// account is the AWS account as the stand-in plays it: Lambda's
// concurrency limit, and Remotion's render function running in it.
type account struct {
	sim   *simulation
	limit int

	mu          sync.Mutex
	inUse       int // executions running
	maxInUse    int
	throttles   int // starts refused for the account's concurrency
	lost        int // webhooks never delivered
	delivered   int
	redelivered int // deliveries tried again after an error
	polls       int // progress asked
	pollsDone   int // progress asked of a render that was over
	startOrder  []string
	startedAt   map[string]time.Time  // by our render ID
	renders     map[string]*simRender // by Remotion's render ID
	starts      map[string]int        // by our render ID
	next        int
}

// simRender is a render the account runs.
type simRender struct {
	ours, remotionID string
	footprint        int
	lost             bool
	over             bool
}

// payload is what the account reads of an invocation.
type payload struct {
	Type        string `json:"type"`
	Concurrency *int   `json:"concurrency"`
	RenderID    string `json:"renderId"`
	BucketName  string `json:"bucketName"`
	Webhook     *struct {
		URL        string          `json:"url"`
		Secret     string          `json:"secret"`
		CustomData json.RawMessage `json:"customData"`
	} `json:"webhook"`
}

func (a *account) problem(format string, args ...any) {
	a.sim.mu.Lock()
	defer a.sim.mu.Unlock()
	a.sim.problems = append(a.sim.problems, fmt.Sprintf(format, args...))
}

func (a *account) respond(inv standin.Invocation) standin.Reply {
	var p payload
	if err := json.Unmarshal(inv.Payload, &p); err != nil {
		a.problem("an invocation that is not JSON: %v", err)
		return standin.ServiceError
	}
	switch p.Type {
	case "start":
		return a.startRender(p)
	case "status":
		return a.progress(p)
	default:
		a.problem("an invocation of type %q", p.Type)
		return standin.ServiceError
	}
}

// startRender runs a render, if the account's concurrency lets it.
func (a *account) startRender(p payload) standin.Reply {
	var custom customData
	if p.Webhook != nil {
		json.Unmarshal(p.Webhook.CustomData, &custom)
	}
	if p.Concurrency == nil || p.Webhook == nil || custom.RenderID == "" || p.Webhook.URL != simWebhookURL {
		a.problem("a start without its concurrency or webhook: %+v", p)
		return standin.ServiceError
	}
	// A start is sent only for a render that holds its footprint.
	if l, err := a.sim.store.ReadLine(context.Background()); err == nil {
		if h, ok := l.Holds[custom.RenderID]; !ok || h.Footprint != *p.Concurrency+1 {
			a.problem("render %s started without holding its footprint of %d: holds %+v", custom.RenderID, *p.Concurrency+1, h)
		}
	}
	r := &simRender{ours: custom.RenderID, footprint: *p.Concurrency + 1, lost: a.sim.rng.Float64() < simLoss}
	duration := simMinRender + time.Duration(a.sim.rng.Int64N(int64(simMaxRender-simMinRender)))
	a.mu.Lock()
	a.starts[r.ours]++
	if a.inUse+r.footprint > a.limit {
		a.throttles++
		a.mu.Unlock()
		return standin.Throttled
	}
	a.next++
	r.remotionID = fmt.Sprintf("s%09d", a.next)
	a.inUse += r.footprint
	a.maxInUse = max(a.maxInUse, a.inUse)
	a.renders[r.remotionID] = r
	a.startOrder = append(a.startOrder, r.ours)
	a.startedAt[r.ours] = time.Now()
	a.sim.deliveries.Add(1)
	a.mu.Unlock()
	time.AfterFunc(duration, func() {
		defer a.sim.deliveries.Done()
		a.end(r, p.Webhook.Secret, p.Webhook.CustomData, duration)
	})
	return standin.Started(simBucket, r.remotionID)
}

// end ends a render: its executions are free, and its webhook goes out,
// unless it is lost, signed as Remotion signs it.
func (a *account) end(r *simRender, secret string, custom json.RawMessage, took time.Duration) {
	a.mu.Lock()
	a.inUse -= r.footprint
	r.over = true
	if r.lost {
		a.lost++
	}
	a.mu.Unlock()
	if r.lost {
		return
	}
	output := "https://s3.us-east-1.amazonaws.com/" + simBucket + "/renders/" + r.remotionID + "/out.mp4"
	body, _ := json.Marshal(struct {
		Type                string          `json:"type"`
		RenderID            string          `json:"renderId"`
		ExpectedBucketOwner string          `json:"expectedBucketOwner"`
		BucketName          string          `json:"bucketName"`
		CustomData          json.RawMessage `json:"customData"`
		OutputURL           string          `json:"outputUrl"`
		LambdaErrors        []any           `json:"lambdaErrors"`
		OutputFile          string          `json:"outputFile"`
		TimeToFinish        int64           `json:"timeToFinish"`
		Costs               map[string]any  `json:"costs"`
	}{"success", r.remotionID, "123456789012", simBucket, custom, output, []any{}, output, took.Milliseconds(),
		map[string]any{"estimatedCost": 0.0123, "estimatedDisplayCost": "$0.01", "currency": "USD", "disclaimer": "Estimated cost only."}})
	mac := hmac.New(sha512.New, []byte(secret))
	mac.Write(body)
	signature := "sha512=" + hex.EncodeToString(mac.Sum(nil))
	// Remotion delivers a webhook up to three times, until it is taken.
	for attempt := 1; attempt <= 3; attempt++ {
		taken := false
		a.sim.survive("webhook", func() {
			ctx, cancel := context.WithTimeout(context.Background(), env.FunctionTimeout)
			defer cancel()
			svc := a.sim.instance()
			if err := svc.VerifyWebhook(ctx, body, signature); err != nil {
				a.problem("webhook of %s not verified: %v", r.ours, err)
				return
			}
			if _, err := svc.Webhook(ctx, body); err != nil {
				a.problem("webhook of %s refused: %v", r.ours, err)
				return
			}
			taken = true
		})
		a.mu.Lock()
		if taken {
			a.delivered++
		} else if attempt < 3 {
			a.redelivered++
		}
		a.mu.Unlock()
		if taken {
			return
		}
	}
}

// progress answers getRenderProgress: done once the render is over.
func (a *account) progress(p payload) standin.Reply {
	a.mu.Lock()
	a.polls++
	r, ok := a.renders[p.RenderID]
	over := ok && r.over
	if over {
		a.pollsDone++
	}
	a.mu.Unlock()
	switch {
	case !ok || p.BucketName != simBucket:
		a.problem("progress of an unknown render %s in %s", p.RenderID, p.BucketName)
		return standin.Reply{FunctionError: "Unhandled", Body: map[string]string{"errorType": "Error", "errorMessage": "no such render"}}
	case over:
		return standin.Reply{Body: a.sim.done}
	default:
		return standin.Reply{Body: a.sim.running}
	}
}

// lineHistory observes every write of the line, in the order DynamoDB
// applied it: the test's DynamoDB clients add a counter to every update of
// the line item (ADD simSeq 1) and keep the line each update returns
// (the records code asks for ALL_NEW). The line is one item and every
// change to it is one conditional update, so the states numbered 1..n are
// all the states it went through, in order. The records code is unchanged:
// the counter is added on the wire, by the test's clients.
type lineHistory struct {
	mu      sync.Mutex
	states  map[int]observed
	errs    []string
	tried   map[string]int // line updates sent, by kind
	refused map[string]int // and refused by their condition
	calls   int            // DynamoDB calls of the instances
	// changed is when each render's record was moved from a state to
	// another, by "renderID from→to".
	changed map[string]time.Time
}

// stateChange reads a render record's update that moves its state from
// one state to another on the condition that it is in that one, as
// records.Store.Launching (queued → starting) and Started (starting →
// rendering) do.
func stateChange(up *dynamodb.UpdateItemInput) (from, to records.State) {
	for k, v := range up.ExpressionAttributeValues {
		s, _ := v.(*types.AttributeValueMemberS)
		if s == nil {
			continue
		}
		switch st := records.State(s.Value); {
		case st != records.Queued && st != records.Starting && st != records.Rendering:
		case strings.Contains(aws.ToString(up.ConditionExpression), k):
			from = st
		default:
			to = st
		}
	}
	return from, to
}

// kindOf names a line update by what it changes.
func kindOf(up *dynamodb.UpdateItemInput) string {
	names := slices.Collect(maps.Values(up.ExpressionAttributeNames))
	holds, queue := slices.Contains(names, "holds"), slices.Contains(names, "queue")
	head := strings.Contains(aws.ToString(up.UpdateExpression), "[0]")
	switch {
	case head && holds:
		return "admit"
	case head:
		return "drop"
	case holds && queue:
		return "return"
	case holds:
		return "give back"
	case queue:
		return "join"
	default:
		return "other"
	}
}

type observed struct {
	line records.Line
	at   time.Time // when the write's answer came
}

func (h *lineHistory) instrument(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("simLineHistory",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				h.mu.Lock()
				h.calls++
				h.mu.Unlock()
				up, ok := in.Parameters.(*dynamodb.UpdateItemInput)
				if !ok {
					return next.HandleInitialize(ctx, in)
				}
				key, _ := up.Key["pk"].(*types.AttributeValueMemberS)
				if key == nil || key.Value != "line" {
					out, md, err := next.HandleInitialize(ctx, in)
					if from, to := stateChange(up); err == nil && key != nil && to != "" {
						h.mu.Lock()
						h.changed[strings.TrimPrefix(key.Value, "render#")+" "+string(from)+"→"+string(to)] = time.Now()
						h.mu.Unlock()
					}
					return out, md, err
				}
				counted := *up
				counted.UpdateExpression = aws.String(aws.ToString(up.UpdateExpression) + "\nADD #simSeq :simOne")
				counted.ExpressionAttributeNames = map[string]string{"#simSeq": "simSeq"}
				maps.Copy(counted.ExpressionAttributeNames, up.ExpressionAttributeNames)
				counted.ExpressionAttributeValues = map[string]types.AttributeValue{}
				maps.Copy(counted.ExpressionAttributeValues, up.ExpressionAttributeValues)
				counted.ExpressionAttributeValues[":simOne"] = &types.AttributeValueMemberN{Value: "1"}
				in.Parameters = &counted
				kind := kindOf(up)
				out, md, err := next.HandleInitialize(ctx, in)
				var refused *types.ConditionalCheckFailedException
				h.mu.Lock()
				h.tried[kind]++
				if errors.As(err, &refused) {
					h.refused[kind]++
				}
				h.mu.Unlock()
				if res, ok := out.Result.(*dynamodb.UpdateItemOutput); err == nil && ok {
					var l struct {
						records.Line
						Seq int `dynamodbav:"simSeq"`
					}
					h.mu.Lock()
					if err := attributevalue.UnmarshalMap(res.Attributes, &l); err != nil || l.Seq == 0 {
						h.errs = append(h.errs, fmt.Sprintf("a line update's answer not read (%v): %v", err, res.Attributes))
					} else {
						h.states[l.Seq] = observed{line: l.Line, at: time.Now()}
					}
					h.mu.Unlock()
				}
				return out, md, err
			}), middleware.After)
	})
}

// replay is what the line's history shows.
type replay struct {
	writes     int
	span       time.Duration // from the first write to the last
	used       float64       // executions × seconds held, over span
	maxInUse   int
	joined     []string             // in the order the renders joined the line
	admitted   []string             // every admission, in order
	admissions map[string]int       // by render
	admittedAt map[string]time.Time // the last admission, by render
	returned   map[string][]time.Duration
	gaveBack   map[string]int
	errs       []string
}

// replay walks the line's states in order. At each state it checks that
// the capacity in use is what the holds add up to and within the budget;
// between two states it names the one change the write made: a render
// joined (at the end), was admitted (from the head: it held its
// footprint), was returned (from its hold to the head), or gave back.
func (h *lineHistory) replay() replay {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp := replay{admissions: map[string]int{}, admittedAt: map[string]time.Time{}, returned: map[string][]time.Duration{}, gaveBack: map[string]int{}, errs: slices.Clone(h.errs)}
	seen := map[string]bool{}
	prev := records.Line{Holds: map[string]records.Hold{}}
	n := len(h.states)
	for seq := 1; seq <= n; seq++ {
		o, ok := h.states[seq]
		if !ok {
			rp.errs = append(rp.errs, fmt.Sprintf("write %d of the line was not observed: the history has gaps", seq))
			break
		}
		cur := o.line
		rp.writes++
		held := 0
		for _, hold := range cur.Holds {
			held += hold.Footprint
		}
		if cur.InUse != held || cur.InUse > simBudget || cur.InUse < 0 {
			rp.errs = append(rp.errs, fmt.Sprintf("write %d: %d in use, the holds add up to %d, the budget is %d", seq, cur.InUse, held, simBudget))
		}
		rp.maxInUse = max(rp.maxInUse, cur.InUse)
		if seq > 1 {
			rp.used += float64(prev.InUse) * o.at.Sub(h.states[seq-1].at).Seconds()
			rp.span = o.at.Sub(h.states[1].at)
		}
		ids := func(q []records.Entry) []string {
			out := make([]string, len(q))
			for i, e := range q {
				out[i] = e.RenderID
			}
			return out
		}
		before, after := ids(prev.Queue), ids(cur.Queue)
		for id := range cur.Holds {
			if _, was := prev.Holds[id]; was {
				continue
			}
			// Admitted: it was the head, and only it left the line.
			if len(before) == 0 || before[0] != id || !slices.Equal(before[1:], after) {
				rp.errs = append(rp.errs, fmt.Sprintf("write %d admitted %s, not the head of the line %v → %v", seq, id, head(before), head(after)))
			}
			rp.admitted = append(rp.admitted, id)
			rp.admissions[id]++
			rp.admittedAt[id] = o.at
		}
		for id, hold := range prev.Holds {
			if _, is := cur.Holds[id]; is {
				continue
			}
			if len(after) > 0 && after[0] == id && slices.Equal(after[1:], before) {
				rp.returned[id] = append(rp.returned[id], o.at.Sub(time.UnixMilli(hold.Since)))
			} else {
				rp.gaveBack[id]++
			}
		}
		if len(after) > len(before) && !(len(after) > 0 && rp.returned[after[0]] != nil && slices.Equal(after[1:], before)) {
			// Joined: at the end, behind everyone who waited.
			id := after[len(after)-1]
			if !slices.Equal(after[:len(after)-1], before) || seen[id] {
				rp.errs = append(rp.errs, fmt.Sprintf("write %d: %s joined, not once at the end of the line: %v → %v", seq, id, head(before), head(after)))
			}
			seen[id] = true
			rp.joined = append(rp.joined, id)
		}
		prev = cur
	}
	return rp
}

func head(ids []string) []string { return ids[:min(len(ids), 4)] }

// check asserts what the simulation must show, and reports its numbers.
func (sim *simulation) check(all []records.Render, allFinal bool, elapsed time.Duration) {
	t := sim.t
	a := sim.account
	sim.mu.Lock()
	defer sim.mu.Unlock()
	a.mu.Lock()
	defer a.mu.Unlock()
	rp := sim.history.replay()

	states := map[records.State]int{}
	byCaller := map[string]int{}
	for _, r := range all {
		states[r.State]++
		byCaller[r.RequestedBy]++
	}
	line, lineErr := sim.store.ReadLine(context.Background())
	events := sim.srv.Events()
	crashedStarts := a.starts[sim.crashed]
	t.Logf("%d renders in %d bursts on %d instances, budget %d, account limit %d, seed %d", simRenders, simBursts, simInstances, simBudget, simLimit, sim.seed)
	t.Logf("capacity in use: max %d in %d states of the line, max %d in %d samples; account executions: max %d", rp.maxInUse, rp.writes, sim.sampledMax, sim.samples, a.maxInUse)
	t.Logf("starts %d, renderer throttles %d; webhooks delivered %d, lost %d, redelivered %d; sweeps %d, progress polls %d (%d of renders over)",
		len(a.startOrder), a.throttles, a.delivered, a.lost, a.redelivered, sim.sweeps, a.polls, a.pollsDone)
	t.Logf("the start request that died (%v in) admitted %s (in %s); it was returned to the line %v after its admission, and started %d time(s)",
		sim.crashedAt.Sub(sim.began).Round(time.Millisecond), sim.crashed, sim.crashWhere, rp.returned[sim.crashed], crashedStarts)
	t.Logf("the line moved for %v, its budget used at %.0f%%; records %v, events %d; wall time %v",
		rp.span.Round(time.Millisecond), 100*rp.used/(simBudget*rp.span.Seconds()), states, len(events), elapsed.Round(time.Millisecond))

	if !allFinal {
		t.Errorf("after %v, %d records, states %v: not all %d renders finished; line %+v (%v)", simDeadline, len(all), states, simRenders, line, lineErr)
	}
	for _, e := range rp.errs {
		t.Error(e)
	}

	// The budget: the line never had more in use than the budget, in any
	// state it went through nor in any sample; the account never ran more
	// executions than the line had in use, so than the budget.
	if rp.maxInUse > simBudget || sim.sampledMax > simBudget || len(sim.overBudget) > 0 {
		t.Errorf("capacity in use over the budget of %d: max %d in the line's states, %d sampled: %v", simBudget, rp.maxInUse, sim.sampledMax, sim.overBudget)
	}
	if a.maxInUse > simBudget {
		t.Errorf("the account ran %d executions at once: over the budget of %d", a.maxInUse, simBudget)
	}
	if a.throttles != 0 {
		t.Errorf("%d renderer throttles, want 0", a.throttles)
	}
	if rp.maxInUse < simBudget/2 {
		t.Errorf("at most %d of the budget of %d was ever in use: the simulation did not load the line", rp.maxInUse, simBudget)
	}

	// All finished, each once, each with one event.
	if states[records.Done] != simRenders || len(all) != simRenders || len(byCaller) != simRenders {
		t.Errorf("records %v from %d callers, want %d done, one per caller", states, len(byCaller), simRenders)
	}
	published := map[string]int{}
	for _, e := range events {
		var d struct {
			RenderID string `json:"renderId"`
		}
		json.Unmarshal([]byte(e.Detail), &d)
		if e.DetailType != "Render Succeeded" {
			t.Errorf("event %s %s", e.DetailType, e.Detail)
		}
		published[d.RenderID]++
	}

	// None started twice: the account saw one start per render, and never
	// a start of a render not in the table.
	inTable := map[string]bool{}
	for _, r := range all {
		inTable[r.RenderID] = true
		if n := a.starts[r.RenderID]; n != 1 {
			t.Errorf("render %s was started %d times, want 1", r.RenderID, n)
		}
		if published[r.RenderID] != 1 {
			t.Errorf("render %s had %d events, want 1", r.RenderID, published[r.RenderID])
		}
	}
	for id, n := range a.starts {
		if !inTable[id] {
			t.Errorf("the account started %d time(s) render %s, which has no record", n, id)
		}
	}
	if len(a.startOrder) != simRenders {
		t.Errorf("%d renders launched, want %d", len(a.startOrder), simRenders)
	}

	// The lost webhooks: each of those renders was finished by the
	// sweeper, from Remotion's progress.
	doneOutput := "https://s3.us-east-1.amazonaws.com/remotionlambda-useast1-abcdefghij/renders/abcdef1234/out.mp4"
	fromPolls := 0
	byOurs := map[string]*simRender{}
	for _, r := range a.renders {
		byOurs[r.ours] = r
	}
	for _, r := range all {
		s := byOurs[r.RenderID]
		if s == nil {
			continue
		}
		if r.OutputFile == doneOutput {
			fromPolls++
		}
		if s.lost && (r.State != records.Done || r.OutputFile != doneOutput) {
			t.Errorf("render %s, whose webhook was lost: %s, output %q; want done from a poll", r.RenderID, r.State, r.OutputFile)
		}
	}
	if a.lost == 0 || a.pollsDone < a.lost || fromPolls < a.lost {
		t.Errorf("%d webhooks lost, %d polls of renders over, %d renders finished from a poll", a.lost, a.pollsDone, fromPolls)
	}

	// The request that died: exactly once, a start request; the render it
	// admitted was returned to the head of the line, once, no sooner than
	// the lease after its admission, then admitted again and started once.
	if sim.panics != 1 || sim.crashed == "" || sim.crashWhere != "start" {
		t.Errorf("%d requests died (%q, in %s), want 1 start request", sim.panics, sim.crashed, sim.crashWhere)
	}
	for id, after := range rp.returned {
		if id != sim.crashed || len(after) != 1 {
			t.Errorf("render %s was returned to the line %d time(s) (after %v); only the one whose request died, %s, was to be, once", id, len(after), after, sim.crashed)
			continue
		}
		if after[0] < simQueue.Lease {
			t.Errorf("render %s was returned to the line %v after its admission: before the lease of %v", id, after[0], simQueue.Lease)
		}
	}
	if rp.returned[sim.crashed] == nil || rp.admissions[sim.crashed] != 2 || crashedStarts != 1 {
		t.Errorf("the render whose request died, %s: returned after %v, admitted %d times, started %d times; want returned, admitted twice, started once",
			sim.crashed, rp.returned[sim.crashed], rp.admissions[sim.crashed], crashedStarts)
	}
	for id, n := range rp.admissions {
		if n != 1 && id != sim.crashed {
			t.Errorf("render %s admitted %d times", id, n)
		}
	}

	// The queue order. The line's history gives the order in which the
	// renders joined the line (each join appends one render at its end) and
	// the order of the admissions. Asserted: (1) every admission took the
	// render at the head of the line, and only it (checked in replay); (2)
	// the renders' first admissions came in exactly the order they joined:
	// no render was admitted before one that joined before it. The one
	// render admitted twice is the one whose request died: the sweeper
	// returned it to the head, and its second admission, from the head, is
	// (1). The account's own start order may differ from the admission
	// order by the requests' own concurrency (two requests admit two
	// renders in turn, and the second's invoke arrives first): it is
	// reported, not asserted.
	var first []string
	once := map[string]bool{}
	for _, id := range rp.admitted {
		if !once[id] {
			once[id] = true
			first = append(first, id)
		}
	}
	if len(rp.joined) != simRenders || !slices.Equal(first, rp.joined) {
		at := 0
		for at < min(len(first), len(rp.joined)) && first[at] == rp.joined[at] {
			at++
		}
		t.Errorf("%d joined, %d admitted: the first admissions follow the joins up to %d only", len(rp.joined), len(first), at)
	}
	if len(rp.admitted) != simRenders+1 {
		t.Errorf("%d admissions, want %d: each render once, and the one whose request died twice", len(rp.admitted), simRenders+1)
	}
	for _, id := range rp.joined {
		if rp.gaveBack[id] != 1 {
			t.Errorf("render %s gave back %d times, want 1", id, rp.gaveBack[id])
		}
	}
	last := map[string]int{}
	for i, id := range rp.admitted {
		last[id] = i
	}
	inversions := 0
	for i := 1; i < len(a.startOrder); i++ {
		if last[a.startOrder[i]] < last[a.startOrder[i-1]] {
			inversions++
		}
	}
	slices.Sort(sim.startTook)
	if n := len(sim.startTook); n > 0 {
		t.Logf("start requests answered in %v (median), %v (90th), %v (max)",
			sim.startTook[n/2].Round(time.Millisecond), sim.startTook[n*9/10].Round(time.Millisecond), sim.startTook[n-1].Round(time.Millisecond))
	}
	// The premise of the test's short lease: no live request holds a render
	// past it. A request that admitted a render records its start
	// (starting → rendering) within the lease; past it, the sweeper would
	// take the request for dead: put the render back in line while it
	// launches it, or take its start for unknown. In production the lease is
	// the function's timeout, which no request outlives.
	var slowest time.Duration
	slowestID := ""
	for _, id := range rp.joined {
		at, ok := sim.history.changed[id+" starting→rendering"]
		if d := at.Sub(rp.admittedAt[id]); ok && d > slowest {
			slowest, slowestID = d, id
		}
	}
	at := func(t time.Time) time.Duration { return t.Sub(rp.admittedAt[slowestID]).Round(time.Millisecond) }
	t.Logf("slowest from an admission to its start recorded: %v (the lease is %v): launch recorded at +%v, start received at +%v",
		slowest.Round(time.Millisecond), simQueue.Lease, at(sim.history.changed[slowestID+" queued→starting"]), at(a.startedAt[slowestID]))
	if slowest >= simQueue.Lease {
		// Not a failure by itself: it is one only if the sweeper looked in
		// that moment, which the checks below see. This tells why.
		t.Logf("WARNING: render %s was admitted %v before its start was recorded: a live request held it past the lease of %v, which the sweeper takes for a request that died; the machine is too slow for the lease the test sets",
			slowestID, slowest, simQueue.Lease)
	}
	t.Logf("DynamoDB calls of the instances %d; line updates sent %v, refused by their condition %v", sim.history.calls, sim.history.tried, sim.history.refused)
	t.Logf("queue order: %d joins, %d admissions (first admissions in join order: %v); starts that reached the account before the one admitted ahead of them: %d",
		len(rp.joined), len(rp.admitted), slices.Equal(first, rp.joined), inversions)

	// The line at the end: empty, nothing held.
	if lineErr != nil || line.InUse != 0 || len(line.Queue) != 0 || len(line.Holds) != 0 {
		t.Errorf("the line at the end: %+v (%v), want empty with nothing in use", line, lineErr)
	}
	if a.inUse != 0 {
		t.Errorf("the account still runs %d executions", a.inUse)
	}

	// The requests: each start answered, but the one that died.
	if len(sim.startErrs) > 0 || len(sim.started) != simRenders-1 {
		t.Errorf("%d starts answered, want %d; errors: %v", len(sim.started), simRenders-1, sim.startErrs)
	}
	if len(sim.sweepErrs) > 0 {
		t.Errorf("sweeps failed: %v", sim.sweepErrs)
	}
	for _, p := range sim.problems {
		t.Error(p)
	}
	var lines []string
	for _, l := range strings.Split(sim.logs.String(), "\n") {
		if l != "" && !strings.Contains(l, `"msg":"metric"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) > 0 {
		sort.Strings(lines)
		t.Errorf("%d warnings or errors logged, e.g.:\n%s", len(lines), strings.Join(head(lines), "\n"))
	}
}

type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) IntN(n int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.IntN(n)
}

func (l *lockedRand) Int64N(n int64) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Int64N(n)
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}
