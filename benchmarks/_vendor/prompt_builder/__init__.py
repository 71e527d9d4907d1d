#!/usr/bin/env python
# Copyright 2025 The Grail Simulation Contributors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""Public exports for the prompt-builder utilities package.

Vendored into grpo_nb's benchmarks (not the package) from
https://github.com/liv-daliberti/grail-simulation, src/prompt_builder at commit
a318422992e5784adb9f5e2d8c968aab20e2d381 (2025-10-31), Apache License 2.0 (see ../LICENSE).
Modified: samples.py (a sample-writing CLI that build_user_prompt does not use) is not vendored,
so its import and names are removed here. Every other file is unchanged.
"""

from __future__ import annotations

import importlib

from .formatters import clean_text
from .parsers import as_list_json, is_nanlike, secs, truthy
from .profiles import render_profile, synthesize_viewer_sentence
from .prompt import build_user_prompt

constants = importlib.import_module(".constants", __name__)
value_maps = importlib.import_module(".value_maps", __name__)

__all__ = [
    "as_list_json",
    "build_user_prompt",
    "clean_text",
    "is_nanlike",
    "constants",
    "render_profile",
    "secs",
    "value_maps",
    "synthesize_viewer_sentence",
    "truthy",
]
