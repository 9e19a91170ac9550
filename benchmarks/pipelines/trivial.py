"""The smallest sweepable script: one parameter, one output, no imports but the markers."""

from py3r_script import Output, Param

i = Param(0, name="i")
Output(i * 2, name="double")
