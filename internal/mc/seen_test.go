package mc

import (
	"math/rand/v2"
	"testing"
)

// TestSeenSet checks the fingerprint table the search relies on: every
// inserted fingerprint is found with its parent across many grows, a
// second insert reports it as old and keeps the first parent, and
// fingerprints never inserted are not found.
func TestSeenSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSeenSet()
	want := map[uint64]uint64{}
	for len(want) < 200000 {
		fp := rng.Uint64() | 1
		p := rng.Uint64()
		_, had := want[fp]
		if got := s.insert(fp, p); got == had {
			t.Fatalf("insert(%x) = %v, want %v", fp, got, !had)
		}
		if !had {
			want[fp] = p
		}
	}
	for fp, p := range want {
		if s.insert(fp, p+1) {
			t.Fatalf("second insert(%x) reported new", fp)
		}
		if got, ok := s.parent(fp); !ok || got != p {
			t.Fatalf("parent(%x) = %x, %v; want %x (the first parent)", fp, got, ok, p)
		}
	}
	for range 10000 {
		fp := rng.Uint64() &^ 1 // even: never inserted
		if fp != 0 && s.has(fp) {
			t.Fatalf("has(%x) for a fingerprint never inserted", fp)
		}
	}
}

// TestHashBytes checks that the fingerprint hash depends on every byte
// and on the length, and is never 0 (the empty slot).
func TestHashBytes(t *testing.T) {
	base := []byte("0123456789abcdefghijklmnopqrstuvwxyz")
	seen := map[uint64]string{}
	for n := 0; n <= len(base); n++ {
		for i := 0; i <= n; i++ {
			b := append([]byte(nil), base[:n]...)
			if i < n {
				b[i] ^= 0x80
			}
			h := hashBytes(b)
			if h == 0 {
				t.Fatalf("hashBytes(%q) = 0", b)
			}
			if prev, ok := seen[h]; ok && prev != string(b) {
				t.Fatalf("hashBytes(%q) == hashBytes(%q)", b, prev)
			}
			seen[h] = string(b)
		}
	}
}
