// Package dynalite runs dynalite, a DynamoDB implementation from the npm
// registry, on a free loopback port, so that tests read and write a real
// table through the AWS SDK's DynamoDB client, as the function does.
// It is fetched with npx into npm's cache, outside the module tree.
package dynalite

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"remotion-lambda-iam/internal/logbuf"
	"remotion-lambda-iam/lambda/records/table"
)

// Version is the dynalite the tests run.
const Version = "4.0.0"

// Region is the region of the SDK configuration that talks to it.
const Region = "us-east-1"

// Server is a running dynalite.
type Server struct {
	URL    string
	cmd    *exec.Cmd
	output logbuf.Buffer // what dynalite printed, for failures
	exited chan struct{}
	proxy  *httptest.Server // in front of dynalite: see shield
}

// state says whether dynalite still runs, and what it printed, for a test
// that could not use it.
func (s *Server) state() string {
	select {
	case <-s.exited:
		return fmt.Sprintf("dynalite has exited (%v); it printed:\n%s", s.cmd.ProcessState, s.output.String())
	default:
		return "dynalite is running; it printed:\n" + s.output.String()
	}
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's dynalite, started on first use. A test
// binary that uses it stops it in TestMain with StopShared.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.once.Do(func() { shared.srv, shared.err = Start() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

// StopShared stops the dynalite Shared started, if any.
func StopShared() {
	if shared.srv != nil {
		shared.srv.Close()
	}
}

// Start runs a dynalite, in memory. It needs Node.js (npx).
func Start() (*Server, error) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		return nil, errors.New("the tests need dynalite, a local DynamoDB, which runs on Node.js: install Node.js 20 or newer with npm (npx), e.g. `apt-get install nodejs npm`")
	}
	// A port found free can be taken before dynalite binds it: try another.
	for attempt := 1; ; attempt++ {
		s, err := start(npx)
		if err == nil || attempt == 3 {
			return s, err
		}
	}
}

func start(npx string) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir, err := os.MkdirTemp("", "dynalite")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(npx, "--yes", "dynalite@"+Version, "--host", "127.0.0.1", "--port", port,
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	cmd.Dir = dir // npx runs outside the module tree
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // npx starts node: stop both
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite: %w", err)
	}
	s := &Server{URL: "http://127.0.0.1:" + port, cmd: cmd, exited: make(chan struct{})}
	// Ready when dynalite says it listens on our port; the first run also
	// downloads it.
	ready := make(chan error, 1)
	go func() {
		scanner := bufio.NewScanner(out)
		listening := false
		for scanner.Scan() {
			line := scanner.Text()
			fmt.Fprintln(&s.output, line)
			if !listening && strings.Contains(line, "listening at") && strings.HasSuffix(line, ":"+port) {
				listening = true
				ready <- nil
			}
		}
		cmd.Wait()
		close(s.exited)
		if !listening {
			ready <- fmt.Errorf("dynalite stopped before it listened:\n%s", s.output.String())
		}
	}()
	select {
	case err = <-ready:
	case <-time.After(2 * time.Minute):
		err = errors.New("dynalite did not listen within 2 minutes: is the npm registry reachable?")
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	s.shield()
	return s, nil
}

// shield puts a proxy in front of dynalite, and points URL at it. dynalite
// exits when a client aborts a request mid-way (its request's error
// handler throws), which takes every later test of the binary with it; a
// test that cuts a call short on purpose, with a deadline, does just that.
// The proxy reads each request whole, then passes it on detached from its
// client, so that dynalite only ever sees complete requests.
func (s *Server) shield() {
	target, _ := url.Parse(s.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	s.proxy = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return // the client went away: dynalite never sees the request
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r.WithContext(context.WithoutCancel(r.Context())))
	}))
	s.URL = s.proxy.URL
}

// Close stops dynalite and its data. Its process group is killed only while
// dynalite runs, so that the kill cannot reach a group that reused the number.
func (s *Server) Close() {
	if s.proxy != nil {
		s.proxy.Close()
	}
	select {
	case <-s.exited:
	default:
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	os.RemoveAll(s.cmd.Dir)
}

// Client is a DynamoDB client of the SDK, talking to s.
func (s *Server) Client() *dynamodb.Client {
	return dynamodb.NewFromConfig(s.AWSConfig())
}

// AWSConfig is an SDK configuration that talks to s, with test credentials.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDDYNALITE", "dynalite-secret", ""),
	}
}

var tables atomic.Int64

// NewRenderTable creates an empty render table, shaped as the stack shapes
// it, and returns its name. Each test gets a table of its own.
func (s *Server) NewRenderTable(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("renders-%d-%d", os.Getpid(), tables.Add(1))
	db := s.Client()
	if _, err := db.CreateTable(context.Background(), RenderTableInput(name)); err != nil {
		t.Fatalf("create table %s: %v\n%s", name, err, s.state())
	}
	// dynalite makes a table ACTIVE on its next turn, not at once.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		out, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err == nil && out.Table.TableStatus == types.TableStatusActive {
			return name
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s is not active after 10 s: %v\n%s", name, err, s.state())
		}
	}
}

// RenderTableInput is the render table as the stack defines it.
func RenderTableInput(name string) *dynamodb.CreateTableInput {
	index := func(name, partition string) types.GlobalSecondaryIndex {
		return types.GlobalSecondaryIndex{
			IndexName: aws.String(name),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(partition), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(table.CreatedAt), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}
	}
	attribute := func(name string) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: types.ScalarAttributeTypeS}
	}
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   []types.KeySchemaElement{{AttributeName: aws.String(table.PartitionKey), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{
			attribute(table.PartitionKey), attribute(table.RequestedBy), attribute(table.Kind), attribute(table.CreatedAt),
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{index(table.ByCaller, table.RequestedBy), index(table.ByTime, table.Kind)},
	}
}
