"""launch/scaling-model.py against values worked out by hand.

With α = 1 µs, β = 1 ns/B, γ = 0.2 ns/B and n = 10^6 bytes:
  ring, P = 4:          2·3·α + 2·(3/4)·n·β + (3/4)·n·γ = 6e-6 + 1.5e-3 + 1.5e-4 = 1.656e-3 s
  Rabenseifner, P = 8:  2·3·α + 2·(7/8)·n·β + (7/8)·n·γ = 6e-6 + 1.75e-3 + 1.75e-4 = 1.931e-3 s
  Rabenseifner, P = 6:  on p' = 4: 2·2·α + 2·(3/4)·n·β + (3/4)·n·γ = 1.654e-3, plus
                        2α + 2nβ + nγ = 2e-6 + 2e-3 + 2e-4 = 2.202e-3, so 3.856e-3 s
  P = 1: no communication.
The overlapped step: one layer 100 → 10 (4040 bytes), so one bucket that is
ready at the end of backward: backward + ring(2, 4040) = t_b + 2α + 4040·β + 2020·γ.
"""
import importlib.util
import pathlib
import sys
import unittest

path = pathlib.Path(__file__).resolve().parents[2] / "launch" / "scaling-model.py"
spec = importlib.util.spec_from_file_location("scaling_model", path)
model = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model)

A, B, G, N = 1e-6, 1e-9, 0.2e-9, 1e6


class ClosedForms(unittest.TestCase):
    def test_ring(self):
        self.assertAlmostEqual(model.ring(4, N, A, B, G), 1.656e-3, delta=1e-9 * 1.656e-3)
        self.assertAlmostEqual(model.ring(2, N, A, B, G), 2e-6 + 1e-3 + 1e-4, delta=1e-15)
        self.assertEqual(model.ring(1, N, A, B, G), 0.0)

    def test_rabenseifner(self):
        self.assertAlmostEqual(model.rabenseifner(8, N, A, B, G), 1.931e-3, delta=1e-9 * 1.931e-3)
        self.assertAlmostEqual(model.rabenseifner(6, N, A, B, G), 3.856e-3, delta=1e-9 * 3.856e-3)
        self.assertEqual(model.rabenseifner(1, N, A, B, G), 0.0)
        # at P = 2 both algorithms are one exchange of n/2 each way
        self.assertAlmostEqual(model.rabenseifner(2, N, A, B, G), model.ring(2, N, A, B, G), delta=1e-15)

    def test_overlapped_step_with_one_bucket(self):
        t_b = 5e-3
        got = model.backward_with_allreduce([100, 10], t_b, 2, model.ring, (A, B, G), overlap=True)
        self.assertAlmostEqual(got, t_b + 2 * A + 4040 * B + 2020 * G, delta=1e-15)
        # without overlap the same here: the only bucket is ready when backward ends
        self.assertAlmostEqual(model.backward_with_allreduce([100, 10], t_b, 2, model.ring, (A, B, G), overlap=False),
                               got, delta=1e-15)

    def test_buckets_as_dmlp_cuts_them(self):
        # 784-1024-1024-10 in float32, 1 MiB: [layers 3+2] then [layer 1]
        self.assertEqual(model.buckets([784, 1024, 1024, 10], 4, 1 << 20),
                         [(1, (1024 * 1024 + 1024 + 1024 * 10 + 10) * 4), (0, (784 * 1024 + 1024) * 4)])


if __name__ == "__main__":
    unittest.main()
