package quant

import (
	"fmt"
	"time"

	"github.com/lsms-edge/lsms/tflite"
)

// Inputs is a dataset and its length.
type Inputs struct {
	Data Dataset
	N    int
}

// Convert quantizes m as opts says and reports on the result: for Int8 it
// calibrates on calib, runs the sensitivity search when opts.AutoFloat > 0,
// quantizes, then compares the two models on eval (on calib when eval.N is
// 0). Float16 and Dynamic need no calibration; they are compared on eval,
// or calib, when given.
func Convert(m *tflite.Model, calib, eval Inputs, opts Options) (*tflite.Model, *Report, error) {
	if err := opts.check(); err != nil {
		return nil, nil, err
	}
	var cal *Calibration
	var rep Report
	if opts.Mode == Int8 {
		if calib.N <= 0 || calib.Data == nil {
			return nil, nil, fmt.Errorf("%w: int8 needs calibration inputs", ErrCalibration)
		}
		t0 := time.Now()
		var err error
		if cal, err = Calibrate(m, calib.Data, calib.N, opts); err != nil {
			return nil, nil, err
		}
		rep.CalibrateSeconds = time.Since(t0).Seconds()
		rep.CalibrationInputs = cal.Samples
		rep.CalibrationSkipped = cal.Skipped
		rep.CalibrationDropped = cal.Dropped
		rep.Estimator = opts.Estimator.String()
		if opts.Estimator == Percentile {
			rep.Percentile = opts.percentile()
		}
		if opts.AutoFloat > 0 {
			t0 = time.Now()
			if _, err := Sensitivity(m, cal, calib.Data, calib.N, opts); err != nil {
				return nil, nil, err
			}
			rep.SearchSeconds = time.Since(t0).Seconds()
		}
	}
	t0 := time.Now()
	q, sum, err := Quantize(m, cal, opts)
	if err != nil {
		return nil, nil, err
	}
	rep.QuantizeSeconds = time.Since(t0).Seconds()
	if eval.N == 0 {
		eval = calib
	}
	if eval.Data == nil {
		eval.N = 0
	}
	t0 = time.Now()
	cmp, err := Compare(m, q, eval.Data, eval.N, opts)
	if err != nil {
		return nil, nil, err
	}
	cmp.CompareSeconds = time.Since(t0).Seconds()
	cmp.Estimator, cmp.Percentile = rep.Estimator, rep.Percentile
	cmp.CalibrationInputs, cmp.CalibrateSeconds, cmp.SearchSeconds, cmp.QuantizeSeconds = rep.CalibrationInputs, rep.CalibrateSeconds, rep.SearchSeconds, rep.QuantizeSeconds
	cmp.CalibrationSkipped, cmp.CalibrationDropped = rep.CalibrationSkipped, rep.CalibrationDropped
	cmp.Summary = sum
	if cal != nil {
		cmp.Sensitivity = cal.Sensitivity
	}
	return q, cmp, nil
}
