package update

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lsms-edge/lsms/firmware/profile"
)

// ExecCheck is the health check of the command line. It runs the
// release's own binary twice:
//
//	lsms version --json       → the backends the new build has
//	lsms segment --model MODEL --manifest MODEL/health/manifest.jsonl \
//	    --backend B --threads N --json
//
// where MODEL, N and B come from the release's profile.json (B resolved
// against the build's backends, see profile.Resolve), and wants both to
// exit 0 and the report's mean_dice to be at least MinDice.
type ExecCheck struct {
	// MinDice is the floor of the mean Dice over the health slices.
	MinDice float64
	// Timeout bounds each run; 0: no bound.
	Timeout time.Duration
}

// maxOutput bounds the output kept from each run.
const maxOutput = 1 << 20

// Check runs the check on release.
func (c ExecCheck) Check(release string) error {
	if math.IsNaN(c.MinDice) || c.MinDice < 0 || c.MinDice > 1 {
		return fmt.Errorf("health: MinDice %g: want 0 to 1", c.MinDice)
	}
	prof, err := profile.Load(filepath.Join(release, ProfileName))
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	bin := filepath.Join(release, BinaryName)
	out, err := c.run(release, bin, "version", "--json")
	if err != nil {
		return err
	}
	var ver struct {
		Version  string   `json:"version"`
		Backends []string `json:"backends"`
	}
	if err := json.Unmarshal(out, &ver); err != nil {
		return fmt.Errorf("health: %s version --json printed no version report: %v", bin, err)
	}
	be, _, err := prof.Resolve(ver.Backends)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	model := filepath.Join(release, filepath.FromSlash(prof.Model))
	out, err = c.run(release, bin, "segment", "--model", model,
		"--manifest", filepath.Join(model, HealthDir, "manifest.jsonl"),
		"--backend", be, "--threads", strconv.Itoa(prof.Threads), "--json")
	if err != nil {
		return err
	}
	var rep struct {
		Slices   []json.RawMessage `json:"slices"`
		MeanDice *float64          `json:"mean_dice"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return fmt.Errorf("health: %s segment --json printed no report: %v", bin, err)
	}
	switch {
	case len(rep.Slices) == 0:
		return errors.New("health: the segment report has no slices")
	case rep.MeanDice == nil:
		return errors.New("health: the segment report has no mean_dice (do the health slices have masks?)")
	case !(*rep.MeanDice >= c.MinDice):
		return fmt.Errorf("health: mean Dice %.4f over %d slices is below the floor %.4f", *rep.MeanDice, len(rep.Slices), c.MinDice)
	}
	return nil
}

func (c ExecCheck) run(dir, bin string, args ...string) ([]byte, error) {
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	var stdout, stderr capped
	stdout.max, stderr.max = maxOutput, 4096
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	what := bin + " " + strings.Join(args, " ")
	if ctx.Err() != nil {
		return nil, fmt.Errorf("health: %s: no result within %v", what, c.Timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = "(no output on stderr)"
		}
		return nil, fmt.Errorf("health: %s: %v: %s", what, err, msg)
	}
	if stdout.over {
		return nil, fmt.Errorf("health: %s printed more than %d bytes", what, maxOutput)
	}
	return stdout.Bytes(), nil
}

// capped keeps the first max bytes written and notes whether there were
// more.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if c.Len()+len(p) > c.max {
		c.over = true
		if room := c.max - c.Len(); room > 0 {
			c.Buffer.Write(p[:room])
		}
		return n, nil
	}
	return c.Buffer.Write(p)
}
