"""The systemd units in scripts/systemd: valid for systemd, and their commands run as written."""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import ROOT, binary  # noqa: E402

UNITS = os.path.join(ROOT, "scripts", "systemd")


class SystemdUnitTests(unittest.TestCase):
    def substituted(self, folder, name, data_dir):
        with open(os.path.join(UNITS, name)) as handle:
            text = handle.read()
        text = (text.replace("/usr/local/bin/clearinghouse", binary())
                .replace("/etc/clearinghouse/clearinghouse.json", os.path.join(ROOT, "config", "clearinghouse.json"))
                .replace("/var/lib/clearinghouse", data_dir))
        path = os.path.join(folder, name)
        with open(path, "w") as handle:
            handle.write(text)
        return path, text

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_units_verify(self):
        with tempfile.TemporaryDirectory() as folder:
            paths = [self.substituted(folder, name, folder)[0]
                     for name in ("clearinghouse.service", "clearinghouse-export.service", "clearinghouse-export.timer")]
            result = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True)
            self.assertEqual(result.returncode, 0, result.stderr)

    def test_export_service_commands_run(self):
        with tempfile.TemporaryDirectory() as folder:
            data_dir = os.path.join(folder, "data")
            subprocess.run([binary(), "partner", "add", "acme", "--name", "Acme", "--data-dir", data_dir],
                           check=True, capture_output=True)
            _, text = self.substituted(folder, "clearinghouse-export.service", data_dir)
            commands = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("ExecStart=")]
            self.assertEqual(len(commands), 2)
            for command in commands:
                result = subprocess.run(shlex.split(command), capture_output=True, text=True, cwd=folder)
                self.assertEqual(result.returncode, 0, f"{command}: {result.stderr}")
            self.assertTrue(os.path.exists(os.path.join(data_dir, "export.key")))


if __name__ == "__main__":
    unittest.main()
