// Command render starts a Remotion render through the deployed API and shows
// its progress until the video is done.
//
//	render --composition MyComp --props props.json      start, watch, print the output URL
//	render --composition MyComp --no-wait               start, print "RENDER_ID [BUCKET]"
//	render progress RENDER_ID [BUCKET]                   watch a render started earlier
//	render list [-all] [-limit N]                        the caller's recent renders, as a table
//	render costs [-all] [-from DATE] [-to DATE]          what the caller's renders cost, by day
//	render cancel RENDER_ID                              take a render that waits its turn out of the line
//
// Requests are signed with SigV4 from the normal AWS credential chain.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/google/uuid"

	"remotion-lambda-iam/contract/renderapi"
)

// Exit codes.
const (
	exitDone         = 0
	exitRenderFail   = 1
	exitUsage        = 2
	exitAPIError     = 3
	exitWatchTimeout = 4
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	api, stack                          string
	composition, props, codec, serveURL string
	outputKey, idempotencyKey           string
	extra                               extraOptions
	noWait                              bool
	interval, timeout                   time.Duration
	all                                 bool
	limit                               int
	from, to                            string
}

// extraOptions collects --option key=JSON, for any option of POST /renders.
type extraOptions map[string]json.RawMessage

func (e extraOptions) String() string { return "" }

func (e extraOptions) Set(s string) error {
	key, value, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		return errors.New("want key=JSON, e.g. crf=20 or frameRange=[0,59]")
	}
	raw := json.RawMessage(value)
	if !json.Valid(raw) {
		raw, _ = json.Marshal(value) // a bare word is a string: codec=vp9
	}
	e[key] = raw
	return nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{extra: extraOptions{}}
	fs.StringVar(&o.api, "api", os.Getenv("REMOTION_RENDER_API"), "the API's URL (default $REMOTION_RENDER_API, else the ApiUrl output of -stack)")
	fs.StringVar(&o.stack, "stack", "RemotionRenderStack", "the stack whose ApiUrl output to use")
	fs.StringVar(&o.composition, "composition", "", "the composition to render (required to start)")
	fs.StringVar(&o.props, "props", "", "input props: a JSON object, a file holding one, or - for standard input")
	fs.StringVar(&o.codec, "codec", "", "the codec (default h264)")
	fs.StringVar(&o.serveURL, "serve-url", "", "the site to render (default: the deployment's)")
	fs.StringVar(&o.outputKey, "output-key", "", "the key in the deployment's output bucket")
	fs.Var(o.extra, "option", "any other option of POST /renders as key=JSON, repeatable (e.g. -option crf=20)")
	fs.BoolVar(&o.noWait, "no-wait", false, `print the render's ID (and its bucket, where the deployment keeps no records) and exit instead of watching`)
	fs.DurationVar(&o.interval, "interval", 2*time.Second, "how often to poll the progress")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "stop watching after this long")
	fs.StringVar(&o.idempotencyKey, "idempotency-key", "", "the start's Idempotency-Key (default: a new UUID); reuse one to retry a start safely")
	fs.BoolVar(&o.all, "all", false, "with list: everyone's renders (GET /renders/all, for operators)")
	fs.IntVar(&o.limit, "limit", 20, "with list: how many renders, 1 to 100")
	fs.StringVar(&o.from, "from", "", "with costs: the first UTC day, such as 2026-11-01 (default: 29 days before -to)")
	fs.StringVar(&o.to, "to", "", "with costs: the last UTC day (default: today)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: render -composition ID [flags]\n       render progress RENDER_ID [BUCKET] [flags]\n       render list [-all] [-limit N] [flags]\n       render costs [-all] [-from DATE] [-to DATE] [flags]\n       render cancel RENDER_ID [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}

	listing := len(args) > 0 && args[0] == "list"
	costing := len(args) > 0 && args[0] == "costs"
	if listing || costing {
		args = args[1:]
	}
	var cancelID string
	if len(args) > 0 && args[0] == "cancel" {
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			fmt.Fprintln(stderr, "render cancel needs the RENDER_ID that the start printed")
			return exitUsage
		}
		cancelID, args = args[1], args[2:]
	}
	var progressArgs []string
	if len(args) > 0 && args[0] == "progress" {
		if len(args) < 2 || strings.HasPrefix(args[1], "-") {
			fmt.Fprintln(stderr, "render progress needs the RENDER_ID that the start printed (and its BUCKET, where the deployment keeps no records)")
			return exitUsage
		}
		progressArgs, args = args[1:2], args[2:]
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			progressArgs, args = append(progressArgs, args[0]), args[1:]
		}
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return exitUsage
	}
	if !listing && !costing && cancelID == "" && progressArgs == nil && o.composition == "" {
		fmt.Fprintln(stderr, "-composition is required to start a render")
		fs.Usage()
		return exitUsage
	}
	if o.interval <= 0 {
		fmt.Fprintln(stderr, "-interval must be positive")
		return exitUsage
	}

	if o.idempotencyKey == "" {
		o.idempotencyKey = uuid.NewString()
	}
	var body []byte
	if !listing && !costing && cancelID == "" && progressArgs == nil {
		var err error
		if body, err = requestBody(o, stdin); err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
	}

	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "load AWS configuration: %v\n", err)
		return exitAPIError
	}
	if o.api == "" {
		if o.api, err = stackOutput(ctx, awsCfg, o.stack, "ApiUrl"); err != nil {
			fmt.Fprintf(stderr, "%v\nset -api or REMOTION_RENDER_API to the API's URL\n", err)
			return exitAPIError
		}
	}
	c, err := newClient(o.api, awsCfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}

	if listing {
		return list(ctx, c, o, stdout, stderr)
	}
	if costing {
		return costs(ctx, c, o, stdout, stderr)
	}
	if cancelID != "" {
		r, err := c.cancel(ctx, cancelID)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitAPIError
		}
		fmt.Fprintf(stdout, "%s %s\n", r.RenderID, r.State)
		return exitDone
	}
	renderID, bucket := "", ""
	if progressArgs != nil {
		renderID = progressArgs[0]
		if len(progressArgs) > 1 {
			bucket = progressArgs[1]
		}
	} else {
		res, err := c.start(ctx, body, o.idempotencyKey, stderr)
		if err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stderr, "to retry this start safely, run the same command with -idempotency-key %s\n", o.idempotencyKey)
			return exitAPIError
		}
		renderID = res.RenderID
		if strings.Contains(res.ProgressURL, "bucket=") {
			bucket = res.BucketName // the deployment keeps no records
		}
		resume := strings.TrimSpace(renderID + " " + bucket)
		if o.noWait {
			fmt.Fprintf(stderr, "started render %s with Idempotency-Key %s\n", renderID, o.idempotencyKey)
			fmt.Fprintln(stdout, resume)
			return exitDone
		}
		fmt.Fprintf(stderr, "started render %s (resume watching with: render progress %s)\n", renderID, resume)
	}

	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	return watch(ctx, c, renderID, bucket, o.interval, stdout, newProgressBar(stderr))
}

// requestBody builds the body of POST /renders from the flags.
func requestBody(o options, stdin io.Reader) ([]byte, error) {
	var req renderapi.StartRequest
	// -option values are read as the API reads them, so that a misspelled
	// option fails here rather than after a round trip.
	extra, _ := json.Marshal(o.extra)
	dec := json.NewDecoder(bytes.NewReader(extra))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, fmt.Errorf("-option: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	req.Composition = o.composition
	if o.codec != "" {
		req.Codec = o.codec
	}
	if o.serveURL != "" {
		req.ServeURL = o.serveURL
	}
	if o.outputKey != "" {
		req.OutputKey = &o.outputKey
	}
	if o.props != "" {
		props, err := readProps(o.props, stdin)
		if err != nil {
			return nil, err
		}
		req.InputProps = props
	}
	return json.Marshal(req)
}

// readProps reads -props: inline JSON, - for standard input, or a file.
func readProps(arg string, stdin io.Reader) (json.RawMessage, error) {
	var raw []byte
	var err error
	switch {
	case strings.HasPrefix(strings.TrimSpace(arg), "{"):
		raw = []byte(arg)
	case arg == "-":
		raw, err = io.ReadAll(stdin)
	default:
		raw, err = os.ReadFile(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("-props: %w", err)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("-props must be a JSON object: %v", err)
	}
	return raw, nil
}

// watch polls the render until it is done or failed and says how it went.
func watch(ctx context.Context, c *client, renderID, bucket string, interval time.Duration, stdout io.Writer, bar *progressBar) int {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		p, err := c.progress(ctx, renderID, bucket)
		switch {
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			bar.finish()
			fmt.Fprintf(bar.w, "stopped watching render %s before it finished; resume with: render progress %s\n", renderID, strings.TrimSpace(renderID+" "+bucket))
			return exitWatchTimeout
		case err != nil:
			bar.finish()
			fmt.Fprintln(bar.w, err)
			return exitAPIError
		}
		bar.update(p)
		switch p.State {
		case renderapi.StateDone:
			bar.finish()
			switch {
			case p.Output != nil:
				fmt.Fprintln(stdout, p.Output.S3URI)
			case p.OutputFile != nil:
				fmt.Fprintln(stdout, *p.OutputFile)
			}
			return exitDone
		case renderapi.StateFailed:
			bar.finish()
			fmt.Fprintf(bar.w, "render %s failed:\n", renderID)
			for _, e := range p.Errors {
				fmt.Fprintf(bar.w, "  %s\n", e.Message)
			}
			return exitRenderFail
		case renderapi.StateCancelled:
			bar.finish()
			fmt.Fprintf(bar.w, "render %s was cancelled before it started\n", renderID)
			return exitRenderFail
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// stackOutput reads one output of a deployed stack.
func stackOutput(ctx context.Context, cfg aws.Config, stack, key string) (string, error) {
	out, err := cloudformation.NewFromConfig(cfg).DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(stack)})
	if err != nil {
		return "", fmt.Errorf("read the %s output of stack %s: %w", key, stack, err)
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == key {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", fmt.Errorf("stack %s has no output %s", stack, key)
}

// list prints a page of renders as a table, newest first.
func list(ctx context.Context, c *client, o options, stdout, stderr io.Writer) int {
	if o.limit < 1 || o.limit > 100 {
		fmt.Fprintln(stderr, "-limit must be from 1 to 100")
		return exitUsage
	}
	page, err := c.list(ctx, o.all, o.limit, "")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitAPIError
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RENDER ID\tSTATE\tCOMPOSITION\tSTARTED\tBY\tOUTPUT")
	for _, r := range page.Renders {
		output := "-"
		switch {
		case r.Output != nil:
			output = r.Output.S3URI
		case r.OutputFile != nil:
			output = *r.OutputFile
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.RenderID, r.State, r.Composition, r.CreatedAt.Local().Format(time.DateTime), r.RequestedBy, output)
	}
	w.Flush()
	if page.NextCursor != "" {
		fmt.Fprintf(stderr, "more renders than -limit %d: raise it to see more\n", o.limit)
	}
	return exitDone
}

// costs prints what renders cost, a day a line.
func costs(ctx context.Context, c *client, o options, stdout, stderr io.Writer) int {
	page, err := c.costs(ctx, o.all, o.from, o.to)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitAPIError
	}
	w := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	header := "DAY\tRENDERS\tSPENT\tPENDING\tCURRENCY"
	if o.all {
		header += "\tCALLER"
	}
	fmt.Fprintln(w, header)
	for _, d := range page.Days {
		line := fmt.Sprintf("%s\t%d\t%s\t%s\t%s", d.Date, d.Renders, d.Spent, d.Pending, d.Currency)
		if o.all {
			line += "\t" + d.Caller
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "TOTAL\t\t%s\t\t%s\n", page.Total, page.Currency)
	w.Flush()
	fmt.Fprintln(stderr, page.Disclaimer)
	return exitDone
}
