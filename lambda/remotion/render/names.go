package render

import "regexp"

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
