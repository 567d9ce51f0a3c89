package api

import (
	"net/http"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"remotion-lambda-iam/lambda/env"
)

// FuzzDecodeStart feeds arbitrary bodies to the decoding and validation of
// POST /renders, as the handler runs them before any call: it must never
// panic, and every body is either a valid set of options or a 4xx that names
// a code and says what was wrong.
func FuzzDecodeStart(f *testing.F) {
	for _, seed := range []string{
		`{"composition":"MyComp","inputProps":{"title":"Hello","n":1}}`,
		`{"composition":"C","codec":"prores","proResProfile":"4444","pixelFormat":"yuva444p10le","imageFormat":"png"}`,
		`{"composition":"C","codec":"gif","numberOfGifLoops":0,"everyNthFrame":2,"frameRange":[0,99]}`,
		`{"composition":"C","frameRange":5,"scale":1.5,"concurrency":10,"downloadBehavior":{"type":"download","fileName":"a.mp4"}}`,
		`{"composition":"C","crf":18,"x264Preset":"fast","audioCodec":"aac","audioBitrate":"128k","metadata":{"a":"b"}}`,
		`{"composition":"C","serveUrl":"https://remotionlambda-a.s3.eu-west-1.amazonaws.com/sites/s/index.html"}`,
		`{"composition":"C","outputKey":"a/b.mp4"}`,
		`{"composition":`, `[]`, `null`, `""`, `{"frameRange":[1]}`, `{"downloadBehavior":{"type":1}}`,
	} {
		f.Add(seed, false)
	}
	policy, err := newURLPolicy([]string{env.DefaultServeURLPattern})
	if err != nil {
		f.Fatal(err)
	}
	h := &Handler{cfg: Config{DefaultServeURL: "https://remotionlambda-a.s3.us-east-1.amazonaws.com/sites/s/index.html", MaxBodyBytes: env.DefaultMaxRequestBodyBytes}, serveURLs: policy}
	withBucket := *h
	withBucket.cfg.OutputBucket = "my-renders"

	f.Fuzz(func(t *testing.T, body string, bucket bool) {
		handler := h
		if bucket {
			handler = &withBucket
		}
		opts, aerr := handler.decodeStart(&events.APIGatewayV2HTTPRequest{Body: body})
		if aerr == nil {
			if err := opts.Validate(); err != nil {
				opts, aerr = nil, validationError(err)
			}
		}
		if aerr != nil {
			if opts != nil {
				t.Fatal("both options and an error")
			}
			if aerr.Status < 400 || aerr.Status >= 500 || aerr.Code == "" || aerr.Message == "" {
				t.Fatalf("error %+v is not a client error with a code and a message", aerr)
			}
			if aerr.Status != http.StatusBadRequest && aerr.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("unexpected status %d", aerr.Status)
			}
			return
		}
		if opts.ServeURL == "" {
			t.Fatal("accepted options have no serve URL")
		}
		if bucket && (opts.OutName == nil || opts.OutName.BucketName != "my-renders" || opts.Privacy != "no-acl") {
			t.Fatalf("render does not go to the output bucket: %+v", opts.OutName)
		}
	})
}
