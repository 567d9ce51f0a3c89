package render

import (
	"regexp"
	"strconv"
	"time"
)

// BucketPrefix starts the name of every bucket Remotion creates.
const BucketPrefix = "remotionlambda-"

var functionVersion = regexp.MustCompile(`^remotion-render-(\d+)-(\d+)-(\d+)-`)

// VersionFromFunctionName reads the Remotion version from a render function
// name as `npx remotion lambda functions deploy` gives it:
// remotion-render-4-0-527-mem2048mb-disk2048mb-120sec is 4.0.527.
func VersionFromFunctionName(name string) (string, bool) {
	m := functionVersion.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	return m[1] + "." + m[2] + "." + m[3], true
}

// functionTimeout reads the timeout in a render function's name, as
// `npx remotion lambda functions deploy` writes it: …-120sec.
var functionTimeout = regexp.MustCompile(`-([0-9]+)sec$`)

// MaxFunctionTimeout is Lambda's ceiling on any function's timeout.
const MaxFunctionTimeout = 900 * time.Second

// TimeoutFromFunctionName is how long a render function may run, as its
// name says; Lambda's ceiling when the name says nothing. No render lasts
// longer than its main function.
func TimeoutFromFunctionName(name string) time.Duration {
	m := functionTimeout.FindStringSubmatch(name)
	if m == nil {
		return MaxFunctionTimeout
	}
	seconds, err := strconv.Atoi(m[1])
	if err != nil || seconds <= 0 || time.Duration(seconds)*time.Second > MaxFunctionTimeout {
		return MaxFunctionTimeout
	}
	return time.Duration(seconds) * time.Second
}
