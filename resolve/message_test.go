package resolve

import "testing"

// TestInvalidRepoMessageSize checks that the invalid repo message is sized
// exactly: built in one allocation, whatever keys it lists.
func TestInvalidRepoMessageSize(t *testing.T) {
	keys := []string{"a+x86_64", "bb+aarch64", "no-arch", "c+d+source"}
	header := []byte("# repo = x arch = y ")
	want := "# repo = x arch = y " + msgInvalidRepo + "# repo=a&arch=x86_64\n# repo=bb&arch=aarch64\n# repo=c+d&arch=source\n"
	if got := invalidRepoMessage(header, keys); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := testing.AllocsPerRun(20, func() { invalidRepoMessage(header, keys) }); n != 1 {
		t.Errorf("%v allocations, want 1", n)
	}
}
