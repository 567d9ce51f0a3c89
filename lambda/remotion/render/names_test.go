package render

import "testing"

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
