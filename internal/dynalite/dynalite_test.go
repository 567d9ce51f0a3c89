package dynalite

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopShared()
	os.Exit(code)
}

// A client that gives up mid-request, as a call cut short by its deadline
// does, leaves dynalite running for the tests after it.
func TestAnAbortedRequestDoesNotStopDynalite(t *testing.T) {
	db := Shared(t)
	u, _ := url.Parse(db.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-amz-json-1.0\r\n"+
		"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: 100\r\n\r\n{\"Limit\":", u.Host)
	conn.Close()
	time.Sleep(200 * time.Millisecond)

	if _, err := db.Client().ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("dynalite after an aborted request: %v\n%s", err, db.state())
	}
}
