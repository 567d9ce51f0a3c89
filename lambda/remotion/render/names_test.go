package render

import (
	"testing"
	"time"
)

func TestVersionFromFunctionName(t *testing.T) {
	tests := []struct {
		name, want string
		ok         bool
	}{
		{"remotion-render-4-0-527-mem2048mb-disk2048mb-120sec", "4.0.527", true},
		{"remotion-render-4-1-0-mem3008mb-disk10240mb-900sec", "4.1.0", true},
		{"remotion-render-bds9aab", "", false},
		{"my-function", "", false},
	}
	for _, tt := range tests {
		got, ok := VersionFromFunctionName(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("VersionFromFunctionName(%q) = %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTheTimeoutIsReadFromTheFunctionName(t *testing.T) {
	for name, want := range map[string]time.Duration{
		"remotion-render-4-0-527-mem2048mb-disk2048mb-120sec":   120 * time.Second,
		"remotion-render-4-0-527-mem2048mb-disk2048mb-900sec":   900 * time.Second,
		"remotion-render-custom":                                MaxFunctionTimeout,
		"remotion-render-4-0-527-mem2048mb-disk2048mb-99999sec": MaxFunctionTimeout,
	} {
		if got := TimeoutFromFunctionName(name); got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
}
