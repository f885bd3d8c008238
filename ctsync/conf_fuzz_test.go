package ctsync

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadConfig checks that no input makes ReadConfig panic, and that
// every error it returns is a *ConfigError wrapping ErrConfig. It is
// seeded with every config in testdata/conf.
func FuzzReadConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/conf/*.conf")
	corpus, _ := filepath.Glob("testdata/conf/corpus/*.conf")
	for _, file := range append(files, corpus...) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := ReadConfig(data)
		if err == nil {
			if cfg == nil {
				t.Fatal("no error and no config")
			}
			return
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || !errors.Is(err, ErrConfig) || cfg != nil {
			t.Fatalf("got %T %v with config %v", err, err, cfg)
		}
	})
}
