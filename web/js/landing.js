// The landing page: create a room, get its link.

import { api } from './protocol.js';
import { loadMessages, tr } from './i18n.js';

/** @param {string} sel @returns {any} */
const $ = (sel) => document.querySelector(sel);

$('#create-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  $('#create-button').disabled = true;
  $('#create-error').hidden = true;
  try {
    const room = await api('POST', '/api/rooms', { name: $('#room-name').value });
    const link = new URL(room.url, location.href).href;
    $('#room-link').value = link;
    $('#room-open').href = room.url;
    $('#created').hidden = false;
  } catch (err) {
    $('#create-error').textContent = tr('client-create-failed', { message: err.message });
    $('#create-error').hidden = false;
  } finally {
    $('#create-button').disabled = false;
  }
});

$('#copy-link').addEventListener('click', async () => {
  await navigator.clipboard?.writeText($('#room-link').value).catch(() => {});
  $('#copy-link').textContent = tr('client-copied');
});

loadMessages();
