/*
 * The Zalo chat simulator page: pretend citizens (ids kept in localStorage) chat with the bot.
 * Every action is a POST to /simulator/api/send, which signs a real Zalo event and delivers it
 * to the webhook; the transcript is polled from /simulator/api/messages.
 * The tool panel plays Zalo over days and on bad days: it ages the citizen past the 7-day window,
 * injects errors into the next sends and revokes the OA's refresh token (/simulator/api/...).
 * All data is put on the page with textContent, never as HTML.
 */
(function () {
  "use strict";

  var STORE_USERS = "paknSimulator.citizens";
  var STORE_ACTIVE = "paknSimulator.active";
  var POLL_MS = 700;
  var FAST_POLL_MS = 150;
  var FAST_POLL_FOR_MS = 3000;
  var HANOI = { latitude: 21.0285011, longitude: 105.8542034 };
  var QUERY_BUTTONS = ["oa.query.show", "oa.query.hide"];

  var root = document.getElementById("simulator");
  var urls = {
    send: root.dataset.sendUrl,
    upload: root.dataset.uploadUrl,
    messages: root.dataset.messagesUrl,
    state: root.dataset.stateUrl,
    age: root.dataset.ageUrl,
    fault: root.dataset.faultUrl,
    faultClear: root.dataset.faultClearUrl,
    revoke: root.dataset.revokeUrl,
  };
  var oaName = root.dataset.oaName;
  var chat = document.getElementById("chat");
  var emptyNote = document.getElementById("empty-note");
  var statusLine = document.getElementById("status");
  var citizenList = document.getElementById("citizen-list");
  var tools = document.getElementById("tools");
  var stateLine = document.getElementById("sim-state");

  var state = {
    users: [], active: null, after: 0, afterEvent: 0, seen: {},
    generation: 0, timer: null, inFlight: false, again: false, fastUntil: 0,
  };

  // ----- citizens ---------------------------------------------------------------------------

  function randomUserId() {
    var digits = new Uint8Array(19);
    window.crypto.getRandomValues(digits);
    var id = String(1 + (digits[0] % 9));
    for (var i = 1; i < digits.length; i++) id += String(digits[i] % 10);
    return id;
  }

  function loadUsers() {
    var users = [];
    try {
      users = JSON.parse(window.localStorage.getItem(STORE_USERS) || "[]");
    } catch (e) {
      users = [];
    }
    if (!Array.isArray(users)) users = [];
    state.users = users.filter(function (id) { return typeof id === "string" && /^\d{1,40}$/.test(id); });
    if (state.users.length === 0) state.users.push(randomUserId());
    var active = window.localStorage.getItem(STORE_ACTIVE);
    state.active = state.users.indexOf(active) >= 0 ? active : state.users[0];
    saveUsers();
  }

  function saveUsers() {
    window.localStorage.setItem(STORE_USERS, JSON.stringify(state.users));
    window.localStorage.setItem(STORE_ACTIVE, state.active);
  }

  function renderCitizens() {
    citizenList.replaceChildren();
    state.users.forEach(function (id, index) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.className = "sim-citizen";
      tab.setAttribute("role", "tab");
      tab.setAttribute("aria-selected", id === state.active ? "true" : "false");
      tab.dataset.userId = id;
      tab.title = id;
      tab.textContent = "Người dân " + (index + 1) + " · …" + id.slice(-4);
      tab.addEventListener("click", function () { selectCitizen(id); });
      citizenList.appendChild(tab);
    });
  }

  function selectCitizen(id) {
    state.active = id;
    saveUsers();
    renderCitizens();
    resetTranscript();
  }

  document.getElementById("add-citizen").addEventListener("click", function () {
    var id = randomUserId();
    state.users.push(id);
    selectCitizen(id);
  });

  // ----- transcript -------------------------------------------------------------------------

  function resetTranscript() {
    state.generation += 1;
    state.after = 0;
    state.afterEvent = 0;
    state.seen = {};
    state.inFlight = false;
    state.again = false;
    chat.replaceChildren(emptyNote);
    emptyNote.hidden = false;
    setStatus("");
    stateLine.textContent = "";
    refreshState();
    schedulePoll(0);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function isWebUrl(url) {
    if (typeof url !== "string") return false;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch (e) {
      return false;
    }
  }

  function image(url) {
    if (!isWebUrl(url)) return el("span", "muted", "[ảnh]");
    var img = document.createElement("img");
    img.src = url;
    img.alt = "Ảnh";
    img.loading = "lazy";
    return img;
  }

  function link(url, label) {
    if (!isWebUrl(url)) return el("span", "muted", label);
    var a = el("a", "", label);
    a.href = url;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    return a;
  }

  function renderButtons(bubble, node) {
    var box = el("div", "bubble-buttons");
    (bubble.buttons || []).forEach(function (button, index) {
      var control;
      if (QUERY_BUTTONS.indexOf(button.type) >= 0) {
        control = el("button", "", button.title);
        control.type = "button";
        control.dataset.payload = button.payload;
        control.addEventListener("click", function () {
          send({ kind: "button", record_id: bubble.record_id, index: index });
        });
      } else if (button.type === "oa.open.url") {
        control = link(button.payload, button.title);
      } else {
        control = el("button", "", button.title);
        control.type = "button";
        control.disabled = true;
      }
      box.appendChild(control);
    });
    node.appendChild(box);
  }

  var INFO_FIELDS = [
    ["name", "Họ và tên", true],
    ["phone", "Số điện thoại", true],
    ["address", "Địa chỉ", false],
    ["ward", "Phường/Xã", false],
    ["district", "Quận/Huyện", false],
    ["city", "Tỉnh/Thành phố", false],
  ];

  function renderInfoRequest(bubble, node) {
    node.classList.add("info-card");
    if (isWebUrl(bubble.image_url)) node.appendChild(image(bubble.image_url));
    node.appendChild(el("div", "title", bubble.text));
    if (bubble.subtitle) node.appendChild(el("div", "muted", bubble.subtitle));
    var form = el("form", "info-form");
    form.hidden = true;
    INFO_FIELDS.forEach(function (field) {
      var label = el("label", "", field[1]);
      var input = document.createElement("input");
      input.name = field[0];
      input.required = field[2];
      input.maxLength = 300;
      if (field[0] === "phone") input.type = "tel";
      label.appendChild(input);
      form.appendChild(label);
    });
    var submit = el("button", "", "Gửi thông tin");
    submit.type = "submit";
    form.appendChild(submit);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = { kind: "info" };
      INFO_FIELDS.forEach(function (field) { data[field[0]] = form.elements[field[0]].value; });
      send(data).then(function (ok) { if (ok) form.hidden = true; });
    });
    var open = el("div", "bubble-buttons");
    var share = el("button", "", "Chia sẻ thông tin");
    share.type = "button";
    share.addEventListener("click", function () { form.hidden = !form.hidden; });
    open.appendChild(share);
    node.appendChild(open);
    node.appendChild(form);
  }

  /** A template message (ZNS): its id, then each parameter it carried. */
  function renderTemplate(bubble, node) {
    node.classList.add("bubble-template");
    node.appendChild(el("div", "title", bubble.title));
    if (bubble.channel === "phone") node.appendChild(el("div", "muted", "Gửi theo số điện thoại"));
    var list = el("dl", "template-fields");
    (bubble.fields || []).forEach(function (field) {
      list.appendChild(el("dt", "", field.name));
      list.appendChild(el("dd", "", field.value));
    });
    node.appendChild(list);
  }

  function renderOa(bubble, node) {
    switch (bubble.kind) {
      case "template":
        renderTemplate(bubble, node);
        break;
      case "buttons":
        node.appendChild(el("div", "", bubble.text));
        renderButtons(bubble, node);
        break;
      case "image":
        node.appendChild(image(bubble.image_url));
        if (bubble.text) node.appendChild(el("div", "caption", bubble.text));
        break;
      case "file":
        node.appendChild(link(bubble.file_url, bubble.text || "Tệp đính kèm"));
        break;
      case "info_request":
        renderInfoRequest(bubble, node);
        break;
      default:
        node.textContent = bubble.text || "";
    }
  }

  function renderUser(bubble, node) {
    switch (bubble.kind) {
      case "text":
        if (bubble.button_payload) {
          node.classList.add("bubble-tap");
          node.textContent = "👆 " + bubble.text;
        } else {
          node.textContent = bubble.text;
        }
        break;
      case "image":
        node.appendChild(image(bubble.image_url));
        if (bubble.text) node.appendChild(el("div", "caption", bubble.text));
        break;
      case "file":
        node.appendChild(link(bubble.file_url, bubble.text || "Tệp"));
        break;
      case "location":
        node.textContent = "📍 Vị trí: " + bubble.latitude + ", " + bubble.longitude;
        break;
      case "info":
        var info = bubble.info || {};
        node.textContent = "Đã chia sẻ thông tin:\n" + info.name + " · " + info.phone +
          (info.address ? "\n" + info.address : "");
        break;
      default:
        node.textContent = bubble.text || "";
    }
  }

  var SYSTEM_TEXT = {
    follow: function () { return "Bạn đã quan tâm " + oaName; },
    unfollow: function () { return "Bạn đã bỏ quan tâm " + oaName; },
  };

  function renderBubble(bubble) {
    var node = el("div", "bubble bubble-" + bubble.from);
    node.dataset.id = bubble.id;
    node.dataset.from = bubble.from;
    node.dataset.kind = bubble.kind;
    if (bubble.from === "oa") {
      renderOa(bubble, node);
    } else if (bubble.from === "user") {
      renderUser(bubble, node);
    } else {
      if (bubble.kind === "error") node.classList.add("bubble-error");
      node.textContent = SYSTEM_TEXT[bubble.kind] ? SYSTEM_TEXT[bubble.kind]() : bubble.text || bubble.kind;
    }
    return node;
  }

  function append(bubbles) {
    var nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
    var added = 0;
    bubbles.forEach(function (bubble) {
      if (state.seen[bubble.id]) return;
      state.seen[bubble.id] = true;
      chat.appendChild(renderBubble(bubble));
      added += 1;
    });
    if (added) {
      // A send may have used up an injected fault or refreshed the token.
      refreshState();
      emptyNote.hidden = true;
      if (nearBottom || added === bubbles.length) chat.scrollTop = chat.scrollHeight;
    }
  }

  // ----- server calls -----------------------------------------------------------------------

  function setStatus(text) {
    statusLine.textContent = text;
  }

  function schedulePoll(delay) {
    if (state.timer !== null) window.clearTimeout(state.timer);
    state.timer = window.setTimeout(poll, delay);
  }

  /** Poll now (or right after the poll in flight), then quickly for a while: a reply is coming. */
  function pollSoon() {
    state.fastUntil = Date.now() + FAST_POLL_FOR_MS;
    if (state.inFlight) {
      state.again = true;
    } else {
      schedulePoll(0);
    }
  }

  function poll() {
    state.timer = null;
    state.inFlight = true;
    state.again = false;
    var generation = state.generation;
    var query = new URLSearchParams({
      user_id: state.active,
      after: String(state.after),
      after_event: String(state.afterEvent),
    });
    fetch(urls.messages + "?" + query.toString(), { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (generation !== state.generation) return;
        state.after = data.after;
        state.afterEvent = data.after_event;
        append(data.messages);
      })
      .catch(function (error) {
        if (generation === state.generation) setStatus("Không tải được tin nhắn: " + error.message);
      })
      .then(function () {
        // A newer chat (another citizen) has its own polling; this one just ends.
        if (generation !== state.generation) return;
        state.inFlight = false;
        if (state.timer !== null) return;
        schedulePoll(state.again ? 0 : Date.now() < state.fastUntil ? FAST_POLL_MS : POLL_MS);
      });
  }

  function readJson(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
      return body;
    });
  }

  /** Ask the server to deliver one action of the active citizen; resolves true when accepted. */
  function send(action) {
    action.user_id = state.active;
    setStatus("");
    return fetch(urls.send, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(action),
    })
      .then(readJson)
      .then(function (body) {
        if (body.webhook_status !== 200) {
          setStatus("Webhook trả lời HTTP " + body.webhook_status + " cho " + body.event_name + ".");
          return false;
        }
        pollSoon();
        refreshState();
        return true;
      })
      .catch(function (error) {
        setStatus("Không gửi được: " + error.message);
        return false;
      });
  }

  document.getElementById("text-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("text-input");
    var text = input.value.trim();
    if (!text) return;
    send({ kind: "text", text: text }).then(function (ok) { if (ok) input.value = ""; });
  });

  document.getElementById("follow").addEventListener("click", function () {
    send({ kind: "follow" });
  });

  document.getElementById("location-default").addEventListener("click", function () {
    send({ kind: "location", latitude: HANOI.latitude, longitude: HANOI.longitude });
  });

  document.getElementById("location-prompt").addEventListener("click", function () {
    var answer = window.prompt("Nhập vĩ độ, kinh độ (ví dụ 21.0285, 105.8542)", "21.0285, 105.8542");
    if (answer === null) return;
    var parts = answer.split(",").map(function (part) { return part.trim(); });
    var latitude = Number(parts[0]);
    var longitude = Number(parts[1]);
    if (parts.length !== 2 || !parts[0] || !parts[1] || !isFinite(latitude) || !isFinite(longitude) ||
        Math.abs(latitude) > 90 || Math.abs(longitude) > 180) {
      setStatus("Tọa độ không hợp lệ.");
      return;
    }
    send({ kind: "location", latitude: latitude, longitude: longitude });
  });

  document.getElementById("photo-input").addEventListener("change", function (event) {
    var input = event.target;
    var file = input.files && input.files[0];
    if (!file) return;
    var form = new FormData();
    form.append("file", file);
    setStatus("");
    fetch(urls.upload, { method: "POST", body: form, headers: { Accept: "application/json" } })
      .then(readJson)
      .then(function (body) { return send({ kind: "image", token: body.token }); })
      .catch(function (error) { setStatus("Không tải được ảnh: " + error.message); })
      .then(function () { input.value = ""; });
  });

  // ----- tools: time, injected faults, the token grant ----------------------------------------

  function idleText(hours) {
    if (hours === null || hours === undefined) return "chưa ghi nhận (coi như vừa tương tác)";
    if (hours < 1) return "vừa xong";
    if (hours < 48) return hours + " giờ trước";
    return Math.floor(hours / 24) + " ngày trước";
  }

  function faultText(fault) {
    var code = fault.code === 500 ? "HTTP 500" : String(fault.code);
    return code + " × " + fault.remaining + (fault.only_this_citizen ? " (người dân này)" : " (mọi người dân)");
  }

  function describeState(data) {
    var lines = [
      "Tương tác cuối với OA: " + idleText(data.idle_hours) +
        (data.in_window ? " · trong cửa sổ 7 ngày" : " · ngoài cửa sổ 7 ngày: tin tư vấn bị từ chối (-230)"),
      data.faults.length
        ? "Lỗi giả lập đang chờ: " + data.faults.map(faultText).join(", ")
        : "Lỗi giả lập: không có",
      data.token.live
        ? "Token OA: còn hiệu lực (thế hệ " + data.token.generation + ")"
        : "Token OA: đã thu hồi, quản trị viên OA cần kết nối lại",
    ];
    return lines.join("\n");
  }

  /** Show what "Zalo" holds for the active citizen; only while the panel is open. */
  function refreshState() {
    if (!tools.open) return Promise.resolve();
    var generation = state.generation;
    var query = new URLSearchParams({ user_id: state.active });
    return fetch(urls.state + "?" + query.toString(), { headers: { Accept: "application/json" } })
      .then(readJson)
      .then(function (data) {
        if (generation === state.generation) stateLine.textContent = describeState(data);
      })
      .catch(function (error) { setStatus("Không đọc được trạng thái Zalo: " + error.message); });
  }

  function postJson(url, data) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(data),
    }).then(readJson);
  }

  function tool(url, data) {
    setStatus("");
    return postJson(url, data)
      .then(refreshState)
      .catch(function (error) { setStatus("Không thực hiện được: " + error.message); });
  }

  var ageDays = document.getElementById("age-days");
  var ageButton = document.getElementById("age");
  ageDays.addEventListener("change", function () {
    ageButton.textContent = "Lùi thời gian " + ageDays.value + " ngày";
  });
  ageButton.addEventListener("click", function () {
    tool(urls.age, { user_id: state.active, days: Number(ageDays.value) });
  });

  document.getElementById("fault-set").addEventListener("click", function () {
    var mine = document.getElementById("fault-mine").checked;
    tool(urls.fault, {
      code: Number(document.getElementById("fault-code").value),
      times: Number(document.getElementById("fault-times").value),
      user_id: mine ? state.active : null,
    });
  });

  document.getElementById("fault-clear").addEventListener("click", function () {
    tool(urls.faultClear, { user_id: state.active });
  });

  document.getElementById("revoke").addEventListener("click", function () {
    tool(urls.revoke, {});
  });

  tools.addEventListener("toggle", function () { refreshState(); });

  loadUsers();
  renderCitizens();
  resetTranscript();
})();
